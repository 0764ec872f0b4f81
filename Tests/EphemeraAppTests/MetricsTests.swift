import EphemeraApp
import EphemeraTestSupport
import Foundation
import NIOCore
import Testing

/// `GET /metrics`: Prometheus' text format, only to `--metrics-allow`, with the figures an operator alerts on.
@Suite struct MetricsTests {
    /// One sample line of the text format: `name{label="value",…} number`.
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static func samples(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    /// The real server on loopback: requests by route, jobs, ffmpeg's CPU, purge lag, caches and the pool.
    @Test(arguments: Backend.all)
    func aScrapeHasRequestsJobsPurgesCachesAndThePool(backend: Backend) async throws {
        let (server, directory, _) = try await startServer(backend)
        defer {
            server.kill9()
            removeServerFolders(directory)
        }
        let signUp = try await server.request("POST", "/api/v1/accounts", json: ["handle": "alice", "password": "correct horse"])
        #expect(signUp.status == 201)
        let token = try signUp.decode(API.Session.self).token
        _ = try await server.request("GET", "/api/v1/stories/nosuchsegment", token: token)
        for _ in 0..<3 { _ = try await server.request("GET", "/api/v1/tray", token: token) }
        let photo = try await MediaFixtures.shared.photo()
        let form = try MultipartForm(fields: ["audience": "public"], file: (photo, "photo.jpg"))
        let posted = try await server.request("POST", "/api/v1/stories", token: token, body: Data(buffer: form.body),
                                              contentType: form.contentType)
        let id = try #require(try posted.decode(API.Posted.self).segments.first?.id)
        for _ in 0..<200 {
            if try await server.request("GET", "/api/v1/stories/\(id)", token: token).decode(API.Segment.self).state == "live" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await server.request("DELETE", "/api/v1/stories/\(id)?permanent=true", token: token).status == 202)
        var samples: [Sample] = []
        for _ in 0..<100 {
            let scrape = try await server.request("GET", "/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.headers.first { $0.key.lowercased() == "content-type" }?.value.hasPrefix("text/plain; version=0.0.4") == true)
            samples = Self.samples(String(decoding: scrape.body, as: UTF8.self))
            if Self.value(samples, "ephemera_purge_lag_seconds_count") ?? 0 >= 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Once more: a scrape reads the queue before it writes the histograms, so the one that first showed the
        // purge done may have read the queue while the purge was still running.
        samples = Self.samples(String(decoding: try await server.request("GET", "/metrics").body, as: UTF8.self))
        #expect(Self.value(samples, "ephemera_http_requests_total", ["route": "/api/v1/accounts", "method": "POST", "status": "201"]) == 1)
        #expect(Self.value(samples, "ephemera_http_requests_total", ["route": "/api/v1/stories/{id}", "method": "GET", "status": "404"]) == 1)
        #expect(Self.value(samples, "ephemera_http_requests_total", ["route": "/api/v1/tray", "status": "200"]) == 3)
        #expect(Self.value(samples, "ephemera_http_request_duration_seconds_count", ["route": "/api/v1/tray"]) == 3)
        #expect((Self.value(samples, "ephemera_http_response_bytes_total", ["route": "/api/v1/tray"]) ?? 0) > 0)
        #expect(Self.value(samples, "ephemera_http_requests_in_flight") == 1, "the scrape itself")
        #expect((Self.value(samples, "ephemera_http_requests_total", ["route": "/metrics", "status": "200"]) ?? 0) >= 1)
        #expect(Self.value(samples, "ephemera_job_duration_seconds_count", ["kind": "process_upload"]) == 1)
        #expect(Self.value(samples, "ephemera_purge_lag_seconds_count") == 1)
        #expect((Self.value(samples, "ephemera_ffmpeg_cpu_seconds_total") ?? 0) > 0)
        #expect(Self.value(samples, "ephemera_jobs_due", ["kind": "purge_segment"]) == 0)
        #expect(Self.value(samples, "ephemera_purge_overdue_seconds") == 0)
        #expect(Self.value(samples, "ephemera_expiry_sweep_lag_seconds") == 0)
        #expect((Self.value(samples, "ephemera_cache_hits_total", ["cache": "tray"]) ?? 0) >= 1)
        #expect((Self.value(samples, "ephemera_cache_hits_total", ["cache": "session"]) ?? 0) >= 1)
        #expect((Self.value(samples, "ephemera_db_connections_max") ?? 0) >= 4)
        #expect(Self.value(samples, "ephemera_db_connections_waiting") != nil)
        #expect(!samples.contains { $0.labels["route"]?.contains("nosuchsegment") == true }, "routes are templates")
    }

    /// Anyone not in `--metrics-allow` gets 403 with the error shape, naming the flag.
    @Test func onlyTheAllowedAddressesMayScrape() async throws {
        let (server, directory, _) = try await startServer(.sqlite, arguments: ["--metrics-allow", "10.0.0.0/8"])
        defer {
            server.kill9()
            removeServerFolders(directory)
        }
        let refused = try await server.request("GET", "/metrics")
        #expect(refused.status == 403)
        // A session changes nothing: metrics are the operator's, granted by address only (admins included).
        let admin = try await server.request("POST", "/api/v1/accounts", json: ["handle": "root", "password": "correct horse"])
            .decode(API.Session.self).token
        #expect(try ServerProcess.runCommand(["user", "promote", "root", "--role", "admin", "--data-dir", directory]).status == 0)
        #expect(try await server.request("GET", "/metrics", token: admin).status == 403)
        let error = try refused.decode(API.ErrorBody.self).error
        #expect(error.code == "metrics_forbidden" && error.message.contains("--metrics-allow"))
        let bad = try ServerProcess.runCommand(["serve", "--metrics-allow", "everyone", "--data-dir", directory])
        #expect(bad.status != 0 && bad.output.contains("--metrics-allow: 'everyone' not an address block"), "\(bad.output)")
    }

    /// The lags an operator alerts on, with the clock moved instead of waited for: a purge due and not done,
    /// a sweep that has not run.
    @Test(arguments: Backend.all)
    func purgeOverdueAndSweepLagGrowWhenNothingRuns(backend: Backend) async throws {
        try await TestApp.run(backend) { app in
            let alice = try await app.signUp("alice")
            let kept = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            let purged = try await app.postLive(alice, file: try await MediaFixtures.shared.photo())[0]
            _ = kept
            #expect(try await app.request(.delete, "/api/v1/stories/\(purged)?permanent=true", token: alice).status == .accepted)
            app.clock.advance(by: .seconds(600))
            var samples = Self.samples(try await app.services.metrics.scrape(app.services))
            #expect(Self.value(samples, "ephemera_purge_overdue_seconds") == 600)
            #expect(Self.value(samples, "ephemera_jobs_due", ["kind": "purge_segment"]) == 1)
            #expect(Self.value(samples, "ephemera_jobs_oldest_due_seconds", ["kind": "purge_segment"]) == 600)
            #expect(Self.value(samples, "ephemera_expiry_sweep_lag_seconds") == 0)
            // A day later, nothing swept: the live segment has waited an hour past its expiry (24 h lifetime).
            app.clock.advance(by: .seconds(24 * 3600 + 3000))
            samples = Self.samples(try await app.services.metrics.scrape(app.services))
            #expect(Self.value(samples, "ephemera_expiry_sweep_lag_seconds") == 3600)
            try await app.processJobs()
            _ = try await app.services.sweeper.sweep()
            samples = Self.samples(try await app.services.metrics.scrape(app.services))
            #expect(Self.value(samples, "ephemera_purge_overdue_seconds") == 0)
            #expect(Self.value(samples, "ephemera_expiry_sweep_lag_seconds") == 0)
            #expect(Self.value(samples, "ephemera_purge_lag_seconds_count") == 1)
        }
    }
}
