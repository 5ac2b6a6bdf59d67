// The architectural parameters of an NVDLA-style NPU, parsed once per run from the config
// (Timeloop's two phases: YAML -> Spec -> model). Both the lowering (tiling, quantization,
// placement) and the SystemC model (timing) read this Spec, so neither includes the other; the
// Program carries the Spec it was lowered for. Each field is declared once, in visit()
// (sim/config/fields.h); the schema that validates `target: npu` configs is registered from
// npu_spec.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/fields.h"
#include "sim/energy/energy.h"
#include "sim/memory/dram.h"
#include "sim/runtime/host.h"
#include "sim/tensor/quant_spec.h"

namespace xpusim::isa::npu {

/// Numeric mode of the convolution pipeline for a whole program.
enum class Precision { Int8, Fp16 };
const char* precision_name(Precision p);
inline int64_t precision_bytes(Precision p) {
    return p == Precision::Fp16 ? 2 : 1;
}

struct ConvSpec {
    int64_t atomic_c = 64;            // input channels per atomic op (MAC cell width), int8
    int64_t atomic_k = 32;            // kernels per atomic op (MAC cells x 2 for int8)
    int64_t max_stripe = 32;          // atomic ops per stripe, bounded by the CACC buffer
    int64_t weight_read_bytes = 128;  // CBUF -> CSC weight bytes per cycle
    bool image_input = true;          // pixel-format first layer with channel pre/post-extension
    bool winograd = false;            // 3x3 stride-1 convolutions in Winograd mode (timing only)
    bool fp16 = true;                 // fp16 datapath at half the int8 MAC rate

    template <class V>
    void visit(V& v) {
        v.field("atomic_c", atomic_c, "channels", "input channels per atomic op (MAC cell width)",
                {1, 4096});
        v.field("atomic_k", atomic_k, "kernels", "int8 kernels per atomic op (MAC cells x 2)",
                {2, 4096});
        v.field("max_stripe", max_stripe, "atomic ops",
                "longest stripe (bounded by the CACC buffer)", {1, 4096});
        v.field("weight_read_bytes", weight_read_bytes, "B/cycle",
                "CBUF->CSC weight bandwidth; sets the shortest stripe that hides a weight load",
                {1, 1 << 20});
        v.flag("image_input", image_input,
               "first layer reads pixel format with channel pre/post-extension");
        v.flag("winograd", winograd, "3x3 stride-1 convolutions in Winograd mode (timing only)");
        v.flag("fp16", fp16, "fp16 datapath present (half the int8 MAC rate)");
    }
    /// Kernels per atomic op in the given precision (fp16/int16 pair two int8 multipliers).
    int64_t kernels_per_atomic(Precision p) const {
        return p == Precision::Fp16 ? atomic_k / 2 : atomic_k;
    }
    /// Cycles the CSC needs to load the next stripe's weights into the MAC cells:
    /// ceil(atomic_c * kernels_per_atomic * bytes_per_weight / weight_read_bytes). A stripe
    /// shorter than this cannot hide the load (NVDLA: at least 16 atomics for 2048 int8 MACs).
    int64_t weight_load_cycles(Precision p) const;
};

struct CbufSpec {
    int64_t kib = 512;
    int64_t banks = 16;

    template <class V>
    void visit(V& v) {
        v.field("kib", kib, "KiB", "convolution buffer size", {1, 1 << 20});
        v.field("banks", banks, "banks", "CBUF banks, split between data and weights per layer",
                {2, 1024});
    }
    uint64_t bytes() const { return static_cast<uint64_t>(kib) * 1024; }
    uint64_t bank_bytes() const { return bytes() / static_cast<uint64_t>(banks); }
};

/// The single-point data processor after the conv pipeline (and on its own).
struct SdpSpec {
    int64_t throughput = 16;     // bias/BN/ALU outputs per cycle (NVDLA_SDP_BS_THROUGHPUT)
    bool lut = true;             // Y stage lookup table (sigmoid, tanh, ...)
    int64_t lut_throughput = 4;  // Y stage outputs per cycle (NVDLA_SDP_EW_THROUGHPUT)
    bool eltwise = true;         // element-wise operand read by SDP RDMA
    int64_t max_stages = 3;      // X1, X2, Y

    template <class V>
    void visit(V& v) {
        v.field("throughput", throughput, "elements/cycle", "SDP bias/BN/ALU outputs per cycle",
                {1, 4096});
        v.flag("lut", lut, "SDP lookup table for sigmoid/tanh/... present");
        v.field("lut_throughput", lut_throughput, "elements/cycle",
                "SDP lookup-table outputs per cycle", {1, 4096});
        v.flag("eltwise", eltwise, "SDP reads a second tensor for element-wise ops");
        v.field("max_stages", max_stages, "stages", "SDP operations fused after a conv (X1, X2, Y)",
                {1, 16});
    }
};

/// A planar (PDP, pooling) or cross-channel (CDP, LRN) data processor.
struct DataProcessorSpec {
    bool enabled = true;
    int64_t throughput = 8;

    template <class V>
    void visit(V& v) {
        v.flag("enabled", enabled, "the unit is present");
        v.field("throughput", throughput, "elements/cycle", "elements per cycle", {1, 4096});
    }
};

struct BdmaSpec {
    bool enabled = true;
    int64_t bytes_per_cycle = 64;

    template <class V>
    void visit(V& v) {
        v.flag("enabled", enabled, "bridge DMA present (memory-to-memory copies)");
        v.field("bytes_per_cycle", bytes_per_cycle, "B/cycle", "BDMA copy rate", {1, 1 << 20});
    }
};

struct DmaSpec {
    int64_t width_bytes = 64;  // memory interface data width (bytes per cycle per engine)
    int64_t latency_tolerance_cycles = 1200;  // outstanding window = width * tolerance bytes
    int64_t request_bytes = 4096;             // simulation granularity of DMA requests
    int64_t atom_bytes = 0;  // NVDLA_MEMORY_ATOMIC_SIZE: surfaces pad C to it; 0: atomic_k bytes

    template <class V>
    void visit(V& v) {
        v.field("width_bytes", width_bytes, "B/cycle", "memory interface data width per DMA engine",
                {1, 1 << 20});
        v.field("latency_tolerance_cycles", latency_tolerance_cycles, "cycles",
                "read latency the DMA engines cover with outstanding requests", {1, 1 << 24});
        v.field("request_bytes", request_bytes, "B",
                "DMA request size modelled (simulation granularity)", {64, 1 << 26});
        v.field("atom_bytes", atom_bytes, "B",
                "memory atom: a surface pads its channels to this many bytes (0: conv.atomic_k "
                "bytes, one kernel group's int8 outputs, as every NVDLA configuration has it)",
                {0, 4096});
    }
    uint64_t window_bytes() const {
        return static_cast<uint64_t>(width_bytes) * static_cast<uint64_t>(latency_tolerance_cycles);
    }
};

struct SequencerSpec {
    int64_t program_cycles = 100;     // CSB writes of one register group
    int64_t dependency_cycles = 500;  // completion interrupt -> dependent layer enabled

    template <class V>
    void visit(V& v) {
        v.field("program_cycles", program_cycles, "cycles",
                "CSB writes to program one register group", {0, 1 << 24});
        v.field("dependency_cycles", dependency_cycles, "cycles",
                "layer completion interrupt to its dependents being enabled", {0, 1 << 30});
    }
};

/// Energy per event (pJ) on top of the prices every target has.
struct NpuEnergy : sim::EnergyCommon {
    double mac_int8_pj = 0.23;
    double mac_fp16_pj = 1.5;
    double cbuf_byte_pj = 1.25;
    double sdp_op_pj = 0.5;
    double pdp_op_pj = 0.3;
    double cdp_op_pj = 2.0;

    NpuEnergy() { static_w = 0.1; }

    template <class V>
    void visit(V& v) {
        v.field("mac_int8_pj", mac_int8_pj, "pJ", "one int8 multiply-accumulate",
                Range::at_least(0));
        v.field("mac_fp16_pj", mac_fp16_pj, "pJ", "one fp16 multiply-accumulate",
                Range::at_least(0));
        v.field("cbuf_byte_pj", cbuf_byte_pj, "pJ", "one byte written to or read from CBUF",
                Range::at_least(0));
        v.field("sdp_op_pj", sdp_op_pj, "pJ", "one SDP element operation", Range::at_least(0));
        v.field("pdp_op_pj", pdp_op_pj, "pJ", "one PDP input element", Range::at_least(0));
        v.field("cdp_op_pj", cdp_op_pj, "pJ", "one CDP (LRN) element", Range::at_least(0));
        EnergyCommon::visit(v);
    }

  private:
    using Range = sim::config::Range;
};

/// The shared quantization block plus the program's numeric mode.
struct NpuQuant : sim::QuantSpec {
    Precision precision = Precision::Int8;

    template <class V>
    void visit(V& v) {
        v.choice("precision", precision,
                 "numeric mode of the program (int8, or fp16 where present)",
                 {{Precision::Int8, "int8"}, {Precision::Fp16, "fp16"}});
        QuantSpec::visit(v);
    }
};

struct LowerSpec {
    bool fuse = true;  // CACC -> SDP -> PDP on the fly where the graph allows

    template <class V>
    void visit(V& v) {
        v.flag("fuse", fuse, "fuse CACC->SDP->PDP on the fly (false: every op through memory)");
    }
};

struct NpuSpec {
    double clock_mhz = 1000;
    ConvSpec conv;
    CbufSpec cbuf;
    SdpSpec sdp;
    DataProcessorSpec pdp;
    DataProcessorSpec cdp;
    BdmaSpec bdma;
    DmaSpec dma;
    SequencerSpec sequencer;
    sim::DramSpec dram = soc_dram();
    sim::HostSpec host;
    NpuEnergy energy;
    NpuQuant quant;
    LowerSpec lower;

    template <class V>
    void visit(V& v) {
        v.field("clock_mhz", clock_mhz, "MHz", "core clock", {1, 1e5});
        v.group("conv", conv);
        v.group("cbuf", cbuf);
        v.group("sdp", sdp);
        v.group("pdp", pdp);
        v.group("cdp", cdp);
        v.group("bdma", bdma);
        v.group("dma", dma);
        v.group("sequencer", sequencer);
        v.group("dram", dram);
        v.group("host", host);
        v.group("energy", energy);
        v.group("quant", quant);
        v.group("lower", lower);
    }
    /// @brief ConfigError where values contradict each other (CBUF not a whole number of
    /// banks, fp16 asked of a chip without it, ...).
    void validate(const sim::config::Config& config) const;

    double clock_hz() const { return clock_mhz * 1e6; }
    double cycle_ns() const { return 1e3 / clock_mhz; }
    int64_t macs_per_cycle(Precision p) const { return conv.atomic_c * conv.kernels_per_atomic(p); }

  private:
    static sim::DramSpec soc_dram();

  public:
    /// @brief The memory atom in bytes: dma.atom_bytes, or conv.atomic_k when it is 0. NVDLA
    /// ties the two (NVDLA_MEMORY_ATOMIC_SIZE = NVDLA_MAC_ATOMIC_K_SIZE: 32 on nv_full, 8 on
    /// nv_small), so that one kernel group's outputs fill whole atoms; a sweep over atomic_k
    /// keeps them tied unless it sets the atom itself.
    int64_t atom_bytes() const { return dma.atom_bytes > 0 ? dma.atom_bytes : conv.atomic_k; }
};

}  // namespace xpusim::isa::npu
