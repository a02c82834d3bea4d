extension TimeSeriesTable.Series {
    /// A series from arrays (data made in code rather than read from a file): its step is the
    /// median gap between times, as a table's; no calendar months; `lines` are 1…n.
    /// - Throws: `RecurrentError.shapeMismatch` when the values or a covariate differ in length
    ///   from the times; `RecurrentError.invalidArgument` for times that do not increase.
    public init(id: String, times: [Double], values: [Double], covariates: [String: [Double]] = [:]) throws {
        try require(values.count == times.count,
                    .shapeMismatch(operation: "series '\(id)'", expected: "\(times.count) values (one per time)",
                                   found: "\(values.count) values"))
        for (name, column) in covariates.sorted(by: { $0.key < $1.key }) {
            try require(column.count == times.count,
                        .shapeMismatch(operation: "series '\(id)'", expected: "\(times.count) values of covariate '\(name)'",
                                       found: "\(column.count) values"))
        }
        try require(zip(times, times.dropFirst()).allSatisfy { $0 < $1 },
                    .invalidArgument(name: "times of series '\(id)'", value: "not increasing", expected: "strictly increasing times"))
        self.init(id: id, times: times, values: values, covariates: covariates, lines: times.indices.map { $0 + 1 },
                  step: times.count >= 2 ? TimeSeriesTable.median(zip(times, times.dropFirst()).map { $1 - $0 }) : nil,
                  monthStep: nil)
    }
}
