// The LPU's architectural parameters, parsed once per run: a Groq-style tensor streaming
// processor (TSP; Abts et al., ISCA 2020 and 2022). SRAM only, no caches, no arbiters, no
// interlocks: the compiler (frontends/lower/lpu) places every tensor in MEM slices and gives
// every instruction its cycle, and the model (models/lpu) executes that schedule and checks it.
// Each field is declared once in visit(). Defaults are the TSP's; configs/lpu/ gives each
// number's source, and the latencies no paper publishes are marked "estimate" there.
#pragma once

#include <cstdint>
#include <string>

#include "sim/config/config.h"
#include "sim/energy/energy.h"
#include "sim/runtime/host.h"
#include "sim/tensor/quant_spec.h"

namespace xpusim::isa::lpu {

/// What the MXM multiplies: int8 x int8 -> int32, or fp16 x fp16 -> fp32.
enum class Precision { Int8, Fp16 };
const char* precision_name(Precision p);

/// The slice layout: per hemisphere, from the edge to the centre, MXM, SXM, the MEM slices;
/// the VXM in the centre between the hemispheres.
struct LanesSpec {
    int64_t superlanes = 20;
    int64_t lanes_per_superlane = 16;
    template <class V>
    void visit(V& v) {
        v.field("superlanes", superlanes, "", "superlanes; instructions move north one per cycle", {1, 1024});
        v.field("lanes_per_superlane", lanes_per_superlane, "", "lanes per superlane", {1, 1024});
    }
    int64_t lanes() const { return superlanes * lanes_per_superlane; }
};

struct MemSpec {
    int64_t slices = 88;           // both hemispheres
    int64_t slice_kib = 2560;      // 20 tiles x 2 banks x 4096 words x 16 B
    int64_t banks = 2;             // per slice: one read and one write per cycle, on different banks
    int64_t read_latency_cycles = 5;   // a Read's vector leaves the slice this many cycles after issue
    template <class V>
    void visit(V& v) {
        v.field("slices", slices, "", "MEM slices (half in each hemisphere)", {2, 4096});
        v.field("slice_kib", slice_kib, "KiB", "SRAM per MEM slice", {1, 1 << 20});
        v.field("banks", banks, "", "banks per slice: a read and a write per cycle on different banks", {1, 64});
        v.field("read_latency_cycles", read_latency_cycles, "cycles", "MEM Read issue to the vector on its stream",
                {0, 1000});
    }
    uint64_t slice_bytes() const { return static_cast<uint64_t>(slice_kib) * 1024; }
    int64_t per_hemisphere() const { return slices / 2; }
};

struct StreamSpec {
    int64_t per_direction = 32;    // stream registers per lane, eastward and westward, 1 byte each
    int64_t slices_per_hop = 1;    // slices a vector crosses per stream-register hop
    int64_t hop_cycles = 1;        // cycles per hop
    template <class V>
    void visit(V& v) {
        v.field("per_direction", per_direction, "", "stream registers per lane in each direction (1 B each)",
                {1, 1024});
        v.field("slices_per_hop", slices_per_hop, "slices", "slices a vector crosses per hop", {1, 64});
        v.field("hop_cycles", hop_cycles, "cycles", "cycles per hop", {1, 64});
    }
};

struct MxmSpec {
    int64_t planes = 4;
    int64_t rows = 320, cols = 320;
    int64_t install_streams = 32;     // weight bytes per lane per cycle while installing (LW/IW)
    int64_t fp16_vectors_per_cycle_divisor = 4;  // fp16 runs at a quarter of the int8 rate
    int64_t latency_cycles = 24;      // ABC: a vector in to its result out of the ACC
    template <class V>
    void visit(V& v) {
        v.field("planes", planes, "", "MXM planes (320 x 320 MACs each)", {1, 64});
        v.field("rows", rows, "", "MACs per plane along K (one vector of input)", {1, 4096});
        v.field("cols", cols, "", "MACs per plane along N (outputs per vector)", {1, 4096});
        v.field("install_streams", install_streams, "B/lane/cycle",
                "weight bytes installed per lane per cycle (LW/IW over the streams)", {1, 1024});
        v.field("fp16_vectors_per_cycle_divisor", fp16_vectors_per_cycle_divisor, "",
                "fp16 ABC takes this many cycles per vector (int8: one)", {1, 64});
        v.field("latency_cycles", latency_cycles, "cycles", "ABC vector in to ACC result out", {0, 10000});
    }
    /// @brief Cycles to install one plane's weights: rows x cols x bytes / (install_streams x lanes).
    int64_t install_cycles(int64_t lanes, int64_t bytes) const {
        return (rows * cols * bytes + install_streams * lanes - 1) / (install_streams * lanes);
    }
};

struct VxmSpec {
    int64_t alus_per_lane = 16;
    int64_t latency_cycles = 4;            // an element-wise op, vector in to vector out
    int64_t transcendental_cycles = 12;    // Exp, TanH, RSqrt
    template <class V>
    void visit(V& v) {
        v.field("alus_per_lane", alus_per_lane, "", "VXM ALUs per lane (vector ops in flight per cycle)", {1, 256});
        v.field("latency_cycles", latency_cycles, "cycles", "VXM element-wise op latency", {0, 10000});
        v.field("transcendental_cycles", transcendental_cycles, "cycles", "VXM Exp / TanH / RSqrt latency",
                {0, 10000});
    }
};

struct SxmSpec {
    int64_t latency_cycles = 4;  // Shift, Rotate, Permute, Distribute; Transpose: + vector count
    template <class V>
    void visit(V& v) {
        v.field("latency_cycles", latency_cycles, "cycles", "SXM shift / rotate / permute latency", {0, 10000});
    }
};

struct C2cSpec {
    int64_t links = 16;
    double gbps_per_link = 14;       // GB/s per link per direction
    double hop_latency_ns = 600;     // one link hop, serialization aside
    int64_t node_chips = 8;          // chips fully connected by local links (a GroqNode)
    int64_t global_links = 4;        // links per chip to other nodes (a Dragonfly of nodes)
    template <class V>
    void visit(V& v) {
        v.field("links", links, "", "chip-to-chip links per chip", {1, 256});
        v.field("global_links", global_links, "", "links per chip to chips of other nodes", {0, 256});
        v.field("gbps_per_link", gbps_per_link, "GB/s", "bandwidth per link per direction", {0.001, 1e5});
        v.field("hop_latency_ns", hop_latency_ns, "ns", "latency of one link hop", {0, 1e7});
        v.field("node_chips", node_chips, "", "chips fully connected in one node", {1, 1024});
    }
};

struct IcuSpec {
    int64_t queues = 144;
    int64_t dispatch_cycles = 1;   // between dependent instructions of one queue
    int64_t instruction_bytes = 16;  // program text per instruction, held in MEM
    template <class V>
    void visit(V& v) {
        v.field("queues", queues, "", "independent instruction queues", {1, 4096});
        v.field("instruction_bytes", instruction_bytes, "B", "MEM bytes one instruction of program text takes",
                {1, 4096});
        v.field("dispatch_cycles", dispatch_cycles, "cycles", "issue interval of one queue", {1, 1000});
    }
};

struct LpuEnergy : sim::EnergyCommon {
    double mac_int8_pj = 0.2, mac_fp16_pj = 0.8, sram_vector_pj = 60, stream_hop_pj = 3,
           vxm_op_pj = 0.4, c2c_byte_pj = 40;
    LpuEnergy() {
        static_w = 60;
        dram_byte_pj = 0;
    }
    template <class V>
    void visit(V& v) {
        v.field("mac_int8_pj", mac_int8_pj, "pJ", "one int8 MAC", {0, 1e6});
        v.field("mac_fp16_pj", mac_fp16_pj, "pJ", "one fp16 MAC", {0, 1e6});
        v.field("sram_vector_pj", sram_vector_pj, "pJ", "one 320-byte MEM read or write", {0, 1e9});
        v.field("stream_hop_pj", stream_hop_pj, "pJ", "one 320-byte vector crossing one stream hop", {0, 1e9});
        v.field("vxm_op_pj", vxm_op_pj, "pJ", "one VXM lane operation", {0, 1e6});
        v.field("c2c_byte_pj", c2c_byte_pj, "pJ", "one byte over a chip-to-chip link", {0, 1e9});
        EnergyCommon::visit(v);
    }
};

struct LpuSpec {
    double clock_mhz = 900;
    Precision precision = Precision::Int8;
    int64_t chips = 1;
    std::string partition = "pipeline";  // pipeline | tensor
    LanesSpec lanes;
    MemSpec mem;
    StreamSpec stream;
    MxmSpec mxm;
    VxmSpec vxm;
    SxmSpec sxm;
    C2cSpec c2c;
    IcuSpec icu;
    sim::HostSpec host;
    sim::QuantSpec quant;
    LpuEnergy energy;

    template <class V>
    void visit(V& v) {
        v.field("clock_mhz", clock_mhz, "MHz", "chip clock", {1, 10000});
        v.choice("precision", precision, "what the MXM multiplies: int8 (int32 accumulate) or fp16 (fp32)",
                 {{Precision::Int8, "int8"}, {Precision::Fp16, "fp16"}});
        v.field("chips", chips, "", "chips the model is partitioned across", {1, 4096});
        v.text("partition", partition,
               "how a model spans chips: pipeline (contiguous layers, balanced by cycles) or tensor "
               "(large GEMMs split across chips, C2C reductions)",
               {"pipeline", "tensor"});
        v.group("lanes", lanes);
        v.group("mem", mem);
        v.group("stream", stream);
        v.group("mxm", mxm);
        v.group("vxm", vxm);
        v.group("sxm", sxm);
        v.group("c2c", c2c);
        v.group("icu", icu);
        v.group("host", host);
        v.group("quant", quant);
        v.group("energy", energy);
    }
    void validate(const sim::config::Config& config) const;

    double clock_hz() const { return clock_mhz * 1e6; }
    double cycle_ns() const { return 1e3 / clock_mhz; }
    int64_t bytes_per_element() const { return precision == Precision::Int8 ? 1 : 2; }
    /// The link a transfer leaves on and the link hops it takes, in a GroqNode-style topology:
    /// the `c2c.node_chips` chips of a node are fully connected, local link k of chip c reaching
    /// chip c + k + 1 of its node (mod node_chips), one hop; a chip of another node is reached over
    /// global link node_chips - 1 + (its node % global_links), after a local hop to the chip that
    /// holds that node's global link and before a local hop at the far end: 3 hops (a Dragonfly's
    /// minimal route, the relaying chips' link time not counted).
    struct C2cRoute {
        int link = 0;
        int hops = 1;
    };
    C2cRoute c2c_route(int from, int to) const {
        const int n = static_cast<int>(c2c.node_chips);
        if (from / n == to / n) return {((to % n) - (from % n) + n) % n - 1, 1};
        return {n - 1 + static_cast<int>((to / n) % std::max<int64_t>(1, c2c.global_links)), 3};
    }
    /// @brief Cycles `bytes` occupy one link: bytes / link bandwidth, rounded up.
    int64_t c2c_serialize_cycles(uint64_t bytes) const {
        return static_cast<int64_t>(static_cast<double>(bytes) / (c2c.gbps_per_link * 1e9) * clock_hz() + 0.999999);
    }
    /// @brief Cycles from a Send of `bytes` from chip `from` to its earliest Receive on chip `to`:
    /// bytes / link bandwidth + hops x c2c.hop_latency_ns, rounded up.
    int64_t c2c_cycles(uint64_t bytes, int from, int to) const {
        const double s = static_cast<double>(bytes) / (c2c.gbps_per_link * 1e9) +
                         c2c.hop_latency_ns * 1e-9 * c2c_route(from, to).hops;
        return static_cast<int64_t>(s * clock_hz() + 0.999999);
    }
};

}  // namespace xpusim::isa::lpu
