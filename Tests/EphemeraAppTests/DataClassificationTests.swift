import EphemeraStore
import EphemeraTestSupport
import Testing

@Suite struct DataClassificationTests {
    /// New data cannot escape deletion by being forgotten: every live column has a class, and the
    /// classification names nothing that does not exist.
    @Test(arguments: Backend.all)
    func everyTableAndColumnIsClassified(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let live = try await DataClassification.liveSchema(app.services.database)
            #expect(live.count >= 10)
            for (table, columns) in live.sorted(by: { $0.key < $1.key }) {
                let classified = Set(DataClassification.schema[table]?.keys.map { $0 } ?? [])
                #expect(columns.subtracting(classified).isEmpty,
                        "\(table): no class for \(columns.subtracting(classified).sorted())")
                #expect(classified.subtracting(columns).isEmpty,
                        "\(table): classified columns that do not exist: \(classified.subtracting(columns).sorted())")
            }
            #expect(Set(DataClassification.schema.keys) == Set(live.keys))
        }
    }

    /// Everything classified as purged with its segment, and naming a segment, is removed by the purge.
    @Test func thePurgeRemovesEveryTableThatHangsOffASegment() {
        let hanging = DataClassification.schema.filter { table, columns in
            columns.values.allSatisfy { $0 == .purgedWithSegment } && columns["segment_id"] != nil
                && table != "purge_log"
        }.keys
        #expect(Set(hanging) == Set(SQLDeletionStore.segmentChildTables))
    }
}
