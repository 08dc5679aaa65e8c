import Foundation
@testable import GraftLoad
import Testing

/// The load test's analysis against servers whose capacity and bottleneck are known (`StubServer`):
/// it must find the knee where the queue starts (four slots, so at concurrency 8) and name the
/// cause each stub was built to have; its requests are bounded and it stops by itself. The
/// report's HTML is opened in headless Chromium. `make test` runs this suite on its own: the
/// client's CPU share is read for the whole process, which here holds the stub server too.
@Suite(.serialized) struct KneeTests {
    func run(_ scenario: StubServer.Scenario) async throws -> LoadReport {
        let stub = StubServer(scenario)
        let (port, task) = try await stub.start()
        defer { task.cancel() }
        let plan = LoadPlan(url: URL(string: "http://127.0.0.1:\(port)")!, levels: try LoadPlan.concurrencies("1,2,4,8,16"), duration: 1.5,
                            prompts: PromptSet.builtIn, maxTokens: 10, mix: [("stub", 1)], slo: try LoadPlan.slo("ttft=200ms"),
                            costPerHour: 0.5, apiKey: nil, grace: 10)
        let started = Date()
        let report = await LoadTest.run(plan, name: "stub", sloText: "ttft=200ms") { _ in }
        // Each level ends by its duration plus its grace period, whatever the server does.
        #expect(Date().timeIntervalSince(started) < 5 * (1.5 + 10), Comment(rawValue: "the load test stops by itself"))
        return report
    }

    func check(_ report: LoadReport, cause: KneeAnalysis.Cause) {
        let levels = report.levels
        #expect(levels.allSatisfy { $0.errors == 0 && $0.completed > 0 }, "\(levels.map(\.errorKinds))")
        // Up to four slots, throughput grows with concurrency; past them it stays.
        #expect(levels[2].outputTokensPerSecond > 2.5 * levels[0].outputTokensPerSecond, Comment(rawValue: report.table))
        #expect(levels[4].outputTokensPerSecond < 1.3 * levels[2].outputTokensPerSecond, Comment(rawValue: report.table))
        #expect(report.knee.index == 3, "knee at \(report.knee.index.map { levels[$0].level } ?? "none"):\n\(report.table)")
        #expect(report.knee.cause == cause, "\(report.knee.sentence)")
        #expect(report.knee.sentence.hasPrefix("At concurrency 8, p95 time to first token is"), "\(report.knee.sentence)")
        #expect(levels.allSatisfy { $0.littlesLawOK }, "\(levels.map { ($0.inFlightMean, $0.littlesLaw) })")
        #expect(levels.allSatisfy { $0.dollarsPerMillionTokens != nil })
    }

    @Test func computeBoundStub() async throws {
        let r = try await run(.computeBound)
        check(r, cause: .computeBound)
        #expect((r.levels[3].engineBusy ?? 0) > 0.9 && (r.levels[3].queueShareOfTTFT ?? 0) > 0.5)
    }

    @Test func queueBoundStub() async throws {
        let r = try await run(.queueBound)
        check(r, cause: .queueBound)
        #expect((r.levels[3].engineBusy ?? 1) < 0.5)
    }

    @Test func memoryBoundStub() async throws {
        let r = try await run(.memoryBound)
        check(r, cause: .memoryBound)
        #expect((r.levels[3].maxKVUsage ?? 0) >= 0.9 && (r.levels[3].preemptions ?? 0) > 0)
    }

    @Test func reportOpensInHeadlessChromium() async throws {
        let r = try await run(.computeBound)
        let dir = NSTemporaryDirectory() + "graft-load-report-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try ReportWriter.write(Comparison([r, r]), to: dir)
        let json = try JSONDecoder().decode(Comparison.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/report.json")))
        let ratiosAreOne = json.throughputRatios[0].allSatisfy { $0 == 1 }
        #expect(json.reports.count == 2 && json.reports[0].levels.count == 5 && ratiosAreOne)
        guard let chromium = Chromium.path else {
            Issue.record("headless Chromium is needed for this check: apt-get install chromium (Scripts/install-deps.sh installs it)")
            return
        }
        let dom = Chromium.dumpDOM(chromium, url: URL(fileURLWithPath: dir + "/report.html").absoluteString) ?? ""
        #expect(dom.contains("<svg") && dom.contains("polyline") && dom.contains("knee: compute-bound"), "\(dom.prefix(300))")
        #expect(dom.contains("At concurrency 8") && dom.contains("<table class=\"levels\">") && dom.contains("id=\"ratios\""))
        #expect(files.contains { $0.hasSuffix("report.png") }, "a PNG where Chromium runs: \(files)")
    }
}
