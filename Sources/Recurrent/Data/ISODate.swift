/// ISO 8601 dates and date-times as seconds since 1970-01-01T00:00:00Z, parsed by hand: no
/// `DateFormatter`, so no locale, calendar or time-zone setting of the machine can change a value.
///
/// Accepted: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS`, each date-time optionally
/// ending in `Z`; a space may stand for the `T`. Times without `Z` are read as UTC too (a series
/// keeps its spacing either way). Days are counted in the proleptic Gregorian calendar (Hinnant's
/// `days_from_civil`), so leap days and leap centuries are exact; leap seconds are not.
public enum ISODate {
    /// Seconds since the epoch for `text`, or `nil` when it is not one of the accepted forms or
    /// names a day that does not exist (2021-02-29, month 13, 24:00).
    public static func seconds(_ text: String) -> Double? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for k in from..<(from + count) {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            return v
        }
        guard b.count >= 10, b[4] == 0x2D, b[7] == 0x2D,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        var rest = b[10...]
        if rest.last == 0x5A && rest.count > 1 { rest = rest.dropLast() }  // "Z"
        switch rest.count {
        case 0:
            return b.count == 10 ? seconds : nil
        case 6, 9:
            let s = rest.startIndex
            guard b[s] == 0x54 || b[s] == 0x20, b[s + 3] == 0x3A,
                  let hour = number(s + 1, 2), let minute = number(s + 4, 2), hour < 24, minute < 60 else { return nil }
            var second = 0
            if rest.count == 9 {
                guard b[s + 6] == 0x3A, let sec = number(s + 7, 2), sec < 60 else { return nil }
                second = sec
            }
            seconds += Double(hour * 3600 + minute * 60 + second)
            return seconds
        default:
            return nil
        }
    }

    /// Days from 1970-01-01 to the given day of the proleptic Gregorian calendar.
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The (year, month, day) of `days` since 1970-01-01, the inverse of `daysFromCivil`.
    public static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `days` since the epoch as `YYYY-MM-DD`.
    public static func dateString(days: Int) -> String {
        let (y, m, d) = civil(fromDays: days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(y)
        return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-" + two(m) + "-" + two(d)
    }

    /// Days in `month` of `year` (Gregorian leap years: divisible by 4, not by 100 unless by 400).
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
