import GraftRuntime
import Testing

@Suite struct BLASKernelSelectionTests {
    @Test func picksTheStrongestFamilyTheFlagsAllow() {
        let skx: Set<String> = ["avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"]
        #expect(BLASKernelSelection.bestCoreType(flags: skx.union(["avx512_bf16"])) == "Cooperlake")
        #expect(BLASKernelSelection.bestCoreType(flags: skx) == "SkylakeX")
        #expect(BLASKernelSelection.bestCoreType(flags: ["avx2", "fma", "avx512f"]) == "Haswell")
        #expect(BLASKernelSelection.bestCoreType(flags: ["sse3", "ssse3"]) == nil)
    }
}
