import Foundation
import XCTest
@testable import Vault

/// Counting school days: weekdays that are not bank holidays in England, on London dates, keeping
/// the London wall-clock time across the change between GMT and BST.
final class SchoolDaysTests: XCTestCase {
    /// An instant given as a London wall-clock time.
    func london(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 10, _ minute: Int = 0) -> Date {
        SchoolDays.london.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!
    }

    /// An instant given in UTC.
    func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!
    }

    func testFiveSchoolDaysAfterAFridayIsTheNextFriday() {
        XCTAssertEqual(SchoolDays.adding(5, to: london(2026, 11, 13, 15, 45)), london(2026, 11, 20, 15, 45))
    }

    func testChristmasAndTheBoxingDaySubstituteIn2026AreNotCounted() {
        // 25 December 2026 is a Friday; Boxing Day falls on Saturday, so Monday 28th is the holiday.
        XCTAssertEqual(SchoolDays.adding(5, to: london(2026, 12, 21)), london(2026, 12, 30))
        XCTAssertFalse(SchoolDays.isSchoolDay(london(2026, 12, 28)))
        XCTAssertTrue(SchoolDays.isSchoolDay(london(2026, 12, 29)))
    }

    func testNewYearsDay2027IsSkippedAfterChristmas() {
        // Tue 29, Wed 30, Thu 31, (Fri 1 January), Mon 4, Tue 5.
        XCTAssertEqual(SchoolDays.adding(5, to: london(2026, 12, 24, 9, 30)), london(2027, 1, 5, 9, 30))
    }

    func testGoodFridayAndEasterMonday2027AreNotCounted() {
        // Good Friday is 26 March 2027, Easter Monday 29 March.
        XCTAssertEqual(SchoolDays.adding(5, to: london(2027, 3, 25, 14)), london(2027, 4, 5, 14))
        XCTAssertEqual(SchoolDays.adding(1, to: london(2027, 3, 25, 14)), london(2027, 3, 30, 14))
    }

    func testASaturdayStartCountsFromMonday() {
        XCTAssertEqual(SchoolDays.adding(1, to: london(2026, 11, 14, 22)), london(2026, 11, 16, 22))
        XCTAssertEqual(SchoolDays.adding(5, to: london(2026, 11, 14, 22)), london(2026, 11, 20, 22))
        XCTAssertFalse(SchoolDays.isSchoolDay(london(2026, 11, 14)))
        XCTAssertFalse(SchoolDays.isSchoolDay(london(2026, 11, 15)))
    }

    func testTheLondonTimeIsKeptWhenTheClocksGoBack() {
        // Friday 23 October 2026 16:30 BST is 15:30 UTC; clocks go back on Sunday 25th, so the
        // Friday after is 16:30 GMT, which is 16:30 UTC.
        let start = utc(2026, 10, 23, 15, 30)
        XCTAssertEqual(start, london(2026, 10, 23, 16, 30))
        XCTAssertEqual(SchoolDays.adding(5, to: start), utc(2026, 10, 30, 16, 30))
    }

    func testTheLondonTimeIsKeptWhenTheClocksGoForward() {
        // Clocks go forward on Sunday 28 March 2027, inside the Easter weekend.
        XCTAssertEqual(SchoolDays.adding(5, to: utc(2027, 3, 25, 14)), utc(2027, 4, 5, 13))
    }

    func testJustAfterMidnightInSummerBelongsToTheLondonDay() {
        // 00:30 BST on Friday 23 October 2026 is still Thursday in UTC.
        let start = utc(2026, 10, 22, 23, 30)
        XCTAssertEqual(SchoolDays.adding(5, to: start), london(2026, 10, 30, 0, 30))
        XCTAssertEqual(SchoolDays.adding(5, to: start), utc(2026, 10, 30, 0, 30))
    }

    func testZeroSchoolDaysIsTheStartItself() {
        let start = london(2026, 12, 25, 8)
        XCTAssertEqual(SchoolDays.adding(0, to: start), start)
    }

    func testEachYearFrom2024To2030HasEightBankHolidaysAllOnWeekdays() {
        for year in 2024...2030 {
            let days = SchoolDays.bankHolidays.filter { $0 / 10000 == year }
            XCTAssertEqual(days.count, 8, "\(year)")
            for day in days {
                let date = london(day / 10000, day / 100 % 100, day % 100)
                let weekday = SchoolDays.london.component(.weekday, from: date)
                XCTAssertTrue((2...6).contains(weekday), "\(day) falls at a weekend")
                XCTAssertFalse(SchoolDays.isSchoolDay(date), "\(day)")
            }
        }
    }

    func testAfter2030OnlyWeekendsAreExcluded() {
        // Thursday 25 December 2031: beyond the list, a weekday counts.
        XCTAssertTrue(SchoolDays.isSchoolDay(london(2031, 12, 25)))
        XCTAssertFalse(SchoolDays.isSchoolDay(london(2031, 12, 27)))
    }
}
