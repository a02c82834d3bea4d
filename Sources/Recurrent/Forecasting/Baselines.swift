/// The two baselines every forecaster is compared with, from a history y₁…y_T for steps
/// h = 1…H, and the season they need.
public enum Baselines {
    /// The naive forecast: the last value repeated, ŷ_{T+h} = y_T.
    /// - Throws: `RecurrentError.invalidArgument` for an empty history or H < 1.
    public static func naive(history: [Double], horizon: Int) throws -> [Double] {
        try seasonalNaive(history: history, horizon: horizon, season: 1)
    }

    /// The seasonal naive forecast: the value one season back, ŷ_{T+h} = y_{T+h−m·k} with
    /// k = ⌈h/m⌉ (the last observed season repeated). m = 1 is the naive forecast.
    /// - Throws: `RecurrentError.invalidArgument` when H < 1, m < 1 or the history is shorter than m.
    public static func seasonalNaive(history: [Double], horizon: Int, season m: Int) throws -> [Double] {
        try require(horizon >= 1, .invalidArgument(name: "horizon", value: "\(horizon)", expected: "a whole number ≥ 1"))
        try require(m >= 1, .invalidArgument(name: "season", value: "\(m)", expected: "a whole number ≥ 1"))
        try require(history.count >= m, .invalidArgument(name: "history length", value: "\(history.count)",
                                                          expected: "at least the season \(m)"))
        let T = history.count
        return (1...horizon).map { h in history[T - m + (h - 1) % m] }
    }

    /// The season of a date series from its step (the median gap between times, in seconds):
    /// a step of 1 hour → 24 (a day), 1 day → 7 (a week), 1 week → 52, about a month → 12,
    /// about a quarter → 4, a minute → 60, 15 or 30 minutes → 96 or 48 (a day); any other step → 1
    /// (no season: the seasonal naive is the naive forecast). For a time column of plain numbers
    /// there is no calendar: give the season.
    public static func season(dateStep step: Double) -> Int {
        let minute = 60.0, hour = 3_600.0, day = 86_400.0
        func near(_ x: Double, _ tolerance: Double = 0.01) -> Bool { abs(step - x) <= tolerance * x }
        if near(minute) { return 60 }
        if near(15 * minute) { return 96 }
        if near(30 * minute) { return 48 }
        if near(hour) { return 24 }
        if near(day) { return 7 }
        if near(7 * day) { return 52 }
        if step >= 28 * day && step <= 31 * day { return 12 }
        if step >= 89 * day && step <= 92 * day { return 4 }
        return 1
    }
}
