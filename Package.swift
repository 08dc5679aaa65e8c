// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// The CPU the numeric code is compiled for: this machine's (`native`, the default, as llama.cpp's
/// native builds), or another `-march` value, e.g. `GRAFT_MARCH=x86-64-v3` (AVX2, FMA, F16C; no
/// AVX-512) for the portable build that `.ci/run` and `make test PORTABLE=1` test in their own
/// scratch folder, so the AVX2 paths are tested on AVX-512 machines too.
let march = "-march=" + (ProcessInfo.processInfo.environment["GRAFT_MARCH"] ?? "native")

/// Graft: LoRA/QLoRA fine-tuning on a CPU. The module map and its dependency direction are in
/// ../shared/docs/architecture.md: arrows point down only, and the numeric core does no IO.
let package = Package(
    name: "Graft",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "graft", targets: ["graft"]),
        .library(name: "GraftTensor", targets: ["GraftTensor"]),
        .library(name: "GraftQuant", targets: ["GraftQuant"]),
        .library(name: "GraftFormats", targets: ["GraftFormats"]),
        .library(name: "GraftModel", targets: ["GraftModel"]),
        .library(name: "GraftData", targets: ["GraftData"]),
        .library(name: "GraftTrain", targets: ["GraftTrain"]),
        .library(name: "GraftAdapters", targets: ["GraftAdapters"]),
        .library(name: "GraftEngine", targets: ["GraftEngine"]),
        .library(name: "GraftServe", targets: ["GraftServe"]),
        .library(name: "GraftLoad", targets: ["GraftLoad"]),
        .library(name: "GraftDeploy", targets: ["GraftDeploy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Checkpoints: the HDF5 C library (Debian's serial build; headers in hdf5/serial).
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        // SHA-256 of base models (OpenSSL's libcrypto, with the CPU's SHA instructions).
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "GraftTensor",
            dependencies: ["CBLAS"],
            // Kernels are SIMD16 code: compiled for the baseline x86-64 (SSE2) many lane ops fall
            // back to scalar loops (exp measured 20x slower). Graft is built where it runs, like
            // llama.cpp's native builds.
            swiftSettings: [.unsafeFlags(["-Xcc", march])]
        ),
        // Integer dot products for decoding with quantized activations (C: Swift has no way to
        // emit vpdpwssd or vpmaddwd), one set per instruction level the target has; the AMX tiles.
        .target(
            name: "CGraftKernels",
            cSettings: [.unsafeFlags(["-O3", march]), .define("GRAFT_MARCH", to: "\"\(march)\"")]
        ),
        .target(
            name: "GraftQuant",
            dependencies: ["GraftTensor", "CBLAS", "CGraftKernels"],
            swiftSettings: [.unsafeFlags(["-Xcc", march])]
        ),
        .target(name: "GraftFormats", dependencies: ["GraftTensor", "GraftQuant", "CHDF5", "CLibCrypto"]),
        .target(name: "GraftModel", dependencies: ["GraftTensor", "GraftQuant", "GraftFormats"]),
        // Process setup shared by the executables (BLAS kernel choice).
        .target(name: "GraftRuntime", dependencies: ["GraftTensor", "GraftQuant", "CGraftKernels"]),
        // Recipes (TOML), JSONL datasets, prompt masking, packing and batches.
        .target(name: "GraftData", dependencies: [
            "GraftFormats", "GraftTensor", .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        .target(name: "GraftTrain", dependencies: ["GraftTensor", "GraftQuant", "GraftFormats", "GraftModel", "GraftData"]),
        // Trained adapters on disk, the registry, merge, PEFT / GGUF LoRA export and import.
        .target(name: "GraftAdapters", dependencies: ["GraftTensor", "GraftFormats", "GraftModel"]),
        // Serving: continuous batching, paged KV, per-row adapters. Its attention and low-rank
        // updates are SIMD16 code too (without the flag, addProduct became calls to libm's fmaf).
        .target(name: "GraftEngine", dependencies: ["GraftTensor", "GraftQuant", "GraftFormats", "GraftModel", "GraftAdapters"],
                swiftSettings: [.unsafeFlags(["-Xcc", march])]),
        // The OpenAI-compatible HTTP server over the engine: routes, SSE, rollout, Prometheus
        // metrics, audit log, draining on SIGTERM.
        .target(name: "GraftServe", dependencies: [
            "GraftEngine", "GraftModel", "GraftFormats", "GraftAdapters", "CLibCrypto",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The load generator: latency percentiles against concurrency or arrival rate, the knee and
        // its cause from the server's own timings and metrics, goodput, cost; reports.
        .target(name: "GraftLoad", dependencies: [
            "GraftFormats", "GraftTensor",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // Beyond one machine: the HAProxy configuration for replicas, and rolling adapter updates
        // across them watched through their metrics.
        .target(name: "GraftDeploy", dependencies: [
            "GraftFormats",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .executableTarget(
            name: "graft",
            dependencies: [
                "GraftTensor", "GraftTrain", "GraftRuntime", "GraftFormats", "GraftModel", "GraftQuant", "GraftData", "GraftAdapters", "GraftEngine", "GraftServe", "GraftLoad", "GraftDeploy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "graft-bench",
            dependencies: ["GraftTensor", "GraftRuntime", "GraftModel", "GraftFormats", "GraftQuant", "GraftTrain", "GraftData", "GraftAdapters", "GraftEngine", "GraftLoad", "CBLAS"]
        ),
        // The tensor tests read PyTorch's reference numbers through the safetensors reader.
        .target(name: "GraftTestSupport", path: "Tests/GraftTestSupport"),
        .testTarget(name: "GraftTensorTests", dependencies: ["GraftTestSupport", "GraftTensor", "GraftFormats"]),
        .testTarget(name: "GraftFormatsTests", dependencies: ["GraftTestSupport", "GraftFormats", "GraftTensor"]),
        .testTarget(name: "GraftQuantTests", dependencies: ["GraftTestSupport", "GraftQuant", "GraftFormats", "GraftTensor"]),
        .testTarget(name: "GraftModelTests", dependencies: ["GraftTestSupport", "GraftModel", "GraftQuant", "GraftFormats", "GraftTensor"]),
        .testTarget(name: "GraftRuntimeTests", dependencies: ["GraftTestSupport", "GraftRuntime"]),
        .testTarget(name: "GraftDataTests", dependencies: ["GraftTestSupport", "GraftData", "GraftFormats", "GraftTensor"]),
        .testTarget(name: "GraftAdaptersTests", dependencies: ["GraftTestSupport", "GraftAdapters", "GraftModel", "GraftFormats", "GraftTensor", "GraftQuant"]),
        .testTarget(name: "GraftEngineTests", dependencies: ["GraftTestSupport", "GraftEngine", "GraftAdapters", "GraftModel", "GraftTensor", "GraftFormats"]),
        .testTarget(name: "GraftServeTests", dependencies: ["GraftTestSupport", "GraftServe", "GraftEngine", "GraftModel", "GraftFormats"]),
        .testTarget(name: "GraftDeployTests", dependencies: ["GraftDeploy"]),
        .testTarget(name: "GraftLoadTests", dependencies: ["GraftTestSupport", "GraftLoad", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "GraftTrainTests", dependencies: ["GraftTestSupport", "GraftTrain", "GraftTensor", "GraftFormats", "GraftModel", "GraftData", "GraftQuant", "GraftAdapters"]),
    ]
)
