import GraftRuntime
import Testing

/// The benchmarks' CPU line from /proc/cpuinfo text of each kind of machine the project runs on.
@Suite struct CPUInfoTests {
    static func cpuinfo(_ name: String, family: Int, model: Int, flags: String) -> String {
        "processor\t: 0\nvendor_id\t: X\ncpu family\t: \(family)\nmodel\t\t: \(model)\nmodel name\t: \(name)\nflags\t\t: \(flags)\n\nprocessor\t: 1\n"
    }

    @Test func kindsOfMachine() {
        let zen3 = CPUInfo(cpuinfo: Self.cpuinfo("AMD EPYC 7B13", family: 25, model: 1, flags: "fpu sse2 avx f16c fma avx2 bmi2"))
        #expect(zen3.model == "AMD EPYC 7B13 (family 25, model 1)")
        #expect(zen3.kind == "AVX2 only" && zen3.relevantFlags == ["avx2", "fma", "f16c"])
        let zen4 = CPUInfo(cpuinfo: Self.cpuinfo("AMD EPYC 9R14", family: 25, model: 17,
                                                  flags: "avx2 fma f16c avx512f avx512bw avx512_vnni avx512_bf16"))
        #expect(zen4.kind == "AVX-512 (no AMX)" && zen4.relevantFlags.contains("avx512_bf16"))
        let xeon = CPUInfo(cpuinfo: Self.cpuinfo("Intel(R) Xeon(R) Platinum 8488C", family: 6, model: 143,
                                                  flags: "avx2 fma f16c avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"))
        #expect(xeon.kind == "AVX-512 with AMX" && xeon.relevantFlags.suffix(3) == ["amx_tile", "amx_bf16", "amx_int8"])
        let unknown = CPUInfo(cpuinfo: "")
        #expect(unknown.model == "unknown CPU" && unknown.kind == "older than AVX2")
    }

    @Test func summaryNamesTheBuildAndTheKernels() {
        let lines = CPUInfo.current.summary
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("CPU: ") && lines[1].hasPrefix("build: -march=") && lines[1].contains("portable"))
    }
}
