import Foundation

/// What a sign-in passphrase must be: 12 to 256 characters, not containing the person's user
/// name, and not one of the most common passwords (or one of them padded with digits, symbols,
/// spaces or repeats, which is how most long common passwords are made). Length does the rest:
/// NCSC and NIST SP 800-63B both prefer a long passphrase over composition rules.
public enum PassphraseRules {
    public static let minCharacters = 12
    public static let maxCharacters = 256

    /// Nil if `passphrase` is acceptable for `name`, else why not (never echoing it).
    public static func problem(_ passphrase: String, name: String) -> String? {
        let count = passphrase.count
        if count < minCharacters { return "a passphrase needs at least \(minCharacters) characters; try three or four random words" }
        if count > maxCharacters { return "a passphrase can have at most \(maxCharacters) characters" }
        let folded = passphrase.lowercased()
        let lowerName = name.lowercased()
        if lowerName.count >= 3, folded.contains(lowerName) { return "a passphrase must not contain your user name" }
        if isCommon(folded) { return "that passphrase is one of the most common passwords; choose three or four random words" }
        return nil
    }

    /// Whether `folded` (lower case) is a common password, alone, repeated or padded.
    static func isCommon(_ folded: String) -> Bool {
        // Letters only: "Password123!", "pass word 2024" and "iloveyouiloveyou" all become a
        // common base or its repetition.
        let letters = String(folded.unicodeScalars.filter { CharacterSet.lowercaseLetters.contains($0) }.map(Character.init))
        if letters.count < 4 { return true }   // digits, symbols or one short word, padded
        if commonBases.contains(letters) { return true }
        for base in commonBases where letters.count % base.count == 0 && letters.count > base.count {
            if String(repeating: base, count: letters.count / base.count) == letters { return true }
        }
        // One character repeated, or a run along the keyboard or the alphabet.
        if Set(letters).count <= 2 { return true }
        return keyboardRuns.contains { $0.contains(letters) }
    }

    static let keyboardRuns = ["qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba", "qazwsxedcrfvtgbyhnujmikolp"]

    /// The letters of the most common passwords in published breach lists (the NCSC's
    /// "100,000 most common" and similar), with their digits and symbols removed.
    static let commonBases: Set<String> = [
        "password", "passw", "passwd", "pass", "qwerty", "qwertyuiop", "asdfgh", "asdfghjkl", "zxcvbnm", "abc", "abcd", "abcdef",
        "letmein", "iloveyou", "welcome", "welcomeback", "admin", "administrator", "login", "master", "monkey", "dragon",
        "football", "soccer", "baseball", "basketball", "sunshine", "princess", "shadow", "superman", "batman", "trustno",
        "michael", "jennifer", "jordan", "hunter", "ranger", "buster", "thomas", "robert", "charlie", "daniel", "andrew",
        "jessica", "ashley", "amanda", "nicole", "hannah", "liverpool", "chelsea", "arsenal", "manchester", "manutd",
        "starwars", "pokemon", "computer", "internet", "secret", "freedom", "whatever", "qwe", "qweasd", "qweasdzxc",
        "changeme", "default", "guest", "test", "tester", "testing", "summer", "winter", "autumn", "spring", "january",
        "february", "march", "april", "june", "july", "august", "september", "october", "november", "december",
        "monday", "friday", "school", "teacher", "student", "london", "england", "lovely", "loveme", "lover", "love",
        "flower", "cookie", "cheese", "chocolate", "banana", "orange", "purple", "yellow", "silver", "golden", "diamond",
        "killer", "matrix", "mustang", "harley", "ferrari", "corvette", "maverick", "tigger", "pepper", "ginger",
        "maggie", "bailey", "buddy", "angel", "babygirl", "blink", "myspace", "facebook", "google", "youtube", "linkedin",
        "strongroom", "safeguarding", "thequickbrownfox", "thequickbrownfoxjumpsoverthelazydog",
        "onetwothree", "iloveyoutoo", "passwordpassword", "qwertyqwerty", "letmeinnow", "welcometo", "helloworld", "hello",
        "abcabc", "aaaaaa", "superstar", "rockstar", "sweetheart", "anything", "nothing", "something", "everything",
    ]
}
