import Foundation

/// School days, for deadlines counted in them (a transfer is overdue 5 school days after sending).
///
/// With no term calendar for the school, a school day is a weekday (Monday to Friday) that is not
/// a bank holiday in England. The bank holidays are those gov.uk lists for England and Wales from
/// 2024 to 2027, and for 2028 to 2030 the days the standing rules give (New Year's Day, Good
/// Friday, Easter Monday, the first and last Mondays of May, the last Monday of August, Christmas
/// and Boxing Day, each moved to the next free weekday when it falls at a weekend). A holiday
/// proclaimed later for a single year is not here. From 2031 on, every weekday counts as a school
/// day: extend `bankHolidays` before then.
///
/// Days are dates in Europe/London, whatever the server's time zone, so a time just after
/// midnight in summer (BST) belongs to the London day, not the UTC one.
///
///     let overdue = SchoolDays.adding(5, to: sentAt)
public enum SchoolDays {
    static let london: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        return calendar
    }()

    /// Bank holidays in England, as year × 10000 + month × 100 + day.
    static let bankHolidays: Set<Int> = [
        20240101, 20240329, 20240401, 20240506, 20240527, 20240826, 20241225, 20241226,
        20250101, 20250418, 20250421, 20250505, 20250526, 20250825, 20251225, 20251226,
        20260101, 20260403, 20260406, 20260504, 20260525, 20260831, 20261225, 20261228,
        20270101, 20270326, 20270329, 20270503, 20270531, 20270830, 20271227, 20271228,
        20280103, 20280414, 20280417, 20280501, 20280529, 20280828, 20281225, 20281226,
        20290101, 20290330, 20290402, 20290507, 20290528, 20290827, 20291225, 20291226,
        20300101, 20300419, 20300422, 20300506, 20300527, 20300826, 20301225, 20301226,
    ]

    /// The instant that is `count` school days after `start`: the same London wall-clock time on
    /// the day that is the count-th school day after start's London date. Start itself never
    /// counts, so a start at a weekend or on a holiday counts from the next school day. A count of
    /// zero or less gives `start`.
    public static func adding(_ count: Int, to start: Date) -> Date {
        guard count > 0 else { return start }
        let time = london.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: start)
        // Step from noon, which exists once on every day, clocks changing or not.
        var day = london.date(from: DateComponents(year: time.year, month: time.month, day: time.day, hour: 12))!
        var remaining = count
        while remaining > 0 {
            day = london.date(byAdding: .day, value: 1, to: day)!
            if isSchoolDay(day) { remaining -= 1 }
        }
        // Clocks change only on Sundays, never a school day, so this wall-clock time exists once.
        let date = london.dateComponents([.year, .month, .day], from: day)
        return london.date(from: DateComponents(
            year: date.year, month: date.month, day: date.day,
            hour: time.hour, minute: time.minute, second: time.second, nanosecond: time.nanosecond))!
    }

    /// Whether the London date of `day` is a school day.
    public static func isSchoolDay(_ day: Date) -> Bool {
        let date = london.dateComponents([.year, .month, .day, .weekday], from: day)
        guard let weekday = date.weekday, (2...6).contains(weekday) else { return false }  // 1 is Sunday, 7 Saturday
        return !bankHolidays.contains(date.year! * 10000 + date.month! * 100 + date.day!)
    }
}
