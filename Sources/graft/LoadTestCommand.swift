import ArgumentParser
import Foundation
import GraftRuntime
import GraftLoad

/// `graft loadtest`: the load generator (the work lives in GraftLoad).
struct LoadTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load an OpenAI-compatible server at increasing concurrency or arrival rate; find the knee and name its cause.",
        discussion: """
        Each level runs for --duration, then waits up to --grace for its last answers. The table gives
        requests/s, output tokens/s, time to first token, inter-token latency (every gap), time per
        output token and end-to-end latency percentiles, goodput against --slo, the server's queue
        share, busy fraction and KV use, the Little's law check and the client's CPU use. --out DIR
        gets report.json, report.svg, report.html (and report.png where a headless Chromium runs).
        """)

    @Option(help: "The server's base URL (http://127.0.0.1:8000).") var url: String
    @Option(help: "Concurrency levels, e.g. 1,2,4,8,16,32,64 (closed loop).") var concurrency: String?
    @Option(help: "Arrival rates in requests/s, e.g. 0.5,1,2 (Poisson arrivals, open loop).") var rate: String?
    @Option(help: "How long each level runs (30s, 2m).") var duration = "30s"
    @Option(help: "How long a level's last requests may take after its duration before they are cancelled.") var grace = "60s"
    @Option(help: "JSONL prompts: {\"prompt\": …} or {\"messages\": […]} a line (default: a built-in set).") var prompts: String?
    @Option(help: "Tokens to generate per request (sent with ignore_eos).") var maxTokens = 128
    @Option(help: "A model id to send (repeatable; requests take them in turn).") var model: [String] = []
    @Option(help: "Models by weight, e.g. sql=0.5,base=0.5 ('base' is the server's first model).") var mix: String?
    @Option(help: "Objectives for goodput, e.g. ttft=1s,itl=250ms,e2e=10s.") var slo = "ttft=1s,itl=250ms"
    @Option(help: "The machine's price in dollars an hour, for dollars per million tokens.") var costPerHour: Double?
    @Option(help: "Users the capacity sentence sizes replicas for.") var users = 100
    @Option(help: "Requests sent one at a time before the first level and not counted (the prompt count warms each prompt once).") var warmup = 1
    @Option(help: "The API key (sent as a bearer token).") var apiKey: String?
    @Option(help: "A name for the server in the reports.") var name = "server"
    @Option(help: "Write report.json, report.svg, report.html (and report.png) here.") var out: String?

    func run() throws {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https", base.host != nil else {
            throw ValidationError("--url: '\(url)' is not an http(s) URL")
        }
        guard (concurrency == nil) != (rate == nil) else { throw ValidationError("give exactly one of --concurrency and --rate") }
        guard (1...1_000_000).contains(maxTokens) else { throw ValidationError("--max-tokens: must be at least 1") }
        guard users >= 1 else { throw ValidationError("--users: must be at least 1") }
        guard (0...10_000).contains(warmup) else { throw ValidationError("--warmup: a number of requests from 0 to 10000") }
        if let c = costPerHour, !(c > 0 && c.isFinite) { throw ValidationError("--cost-per-hour: a price above 0") }
        var plan: LoadPlan
        do {
            let levels = try concurrency.map(LoadPlan.concurrencies) ?? LoadPlan.rates(rate!)
            var weights: [(model: String, weight: Double)] = model.map { ($0, 1.0) }
            if let mix { weights += try LoadPlan.mix(mix) }
            if weights.isEmpty { weights = [("base", 1)] }
            plan = LoadPlan(url: base, levels: levels, duration: try LoadPlan.seconds(duration, option: "--duration"),
                            prompts: try prompts.map { try PromptSet.load(path: $0) } ?? PromptSet.builtIn, maxTokens: maxTokens,
                            mix: weights, slo: try LoadPlan.slo(slo), costPerHour: costPerHour, apiKey: apiKey,
                            grace: try LoadPlan.seconds(grace, option: "--grace"), users: users, warmup: warmup)
        } catch let error as LoadPlan.ParseError {
            throw ValidationError(error.description)
        }
        plan.rotateModels = mix == nil && !model.isEmpty
        let (name, slo, out) = (self.name, self.slo, self.out)
        let finalPlan = plan
        let report = waitFor { await LoadTest.run(finalPlan, name: name, sloText: slo) { FileHandle.standardError.write(Data($0.utf8)) } }
        print(report.table)
        print()
        print(report.summary)
        if let out {
            let files = try ReportWriter.write(Comparison([report]), to: out)
            FileHandle.standardError.write(Data("wrote \(files.joined(separator: ", "))\n".utf8))
        }
    }
}
