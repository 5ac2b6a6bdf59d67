// The NPU's instruction set: one register group (descriptor) per hardware layer and unit, as
// NVDLA programs its CDMA/CSC/CMAC/CACC, SDP, PDP, CDP and BDMA. A descriptor names the DRAM
// surfaces it reads and writes; `source` links a descriptor to the upstream one it is fused with
// (CACC -> SDP -> PDP on the fly), otherwise the unit reads its input from memory (independent
// mode). Each payload lists its registers once in visit(), which drives both the assembler and
// the disassembler, so the text form always carries every field.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "isa/npu/fixed_point.h"
#include "isa/npu/npu_spec.h"
#include "sim/tensor/tensor.h"

namespace xpusim::isa::npu {

/// A tensor in the NPU's DRAM. Activations are NVDLA feature surfaces (channels padded to the
/// memory atom); constants carry their data (the memory image). A view (`alias` >= 0) shares
/// another surface's bytes: a free reshape, or a channel slice of a concat at `channel_offset`.
struct Surface {
    int32_t id = -1;
    std::string name;                     // the ONNX value it holds
    std::string kind = "act";             // input | output | act | const | view | slice
    sim::DType dtype = sim::DType::Int8;  // int8 (with scale), float16, float32, int32
    sim::Shape shape;                     // logical (ONNX) shape
    double scale = 1.0;                   // int8: real = scale * q
    uint64_t addr = 0;
    uint64_t bytes = 0;  // in the DRAM layout
    int32_t alias = -1;
    int64_t channel_offset = 0;
    sim::Tensor data;  // constants only (may be absent in a timing-only program)

    template <class V>
    void visit(V&& v) {
        v("id", id);
        v("name", name);
        v("kind", kind);
        v("dtype", dtype);
        v("shape", shape);
        v("scale", scale);
        v("addr", addr);
        v("bytes", bytes);
        v("alias", alias);
        v("coff", channel_offset);
    }
};

/// CDMA + CSC + CMAC + CACC registers of one convolution (or a fully-connected layer seen as a
/// 1x1 convolution whose rows are pixels: `fc`). The CBUF plan (banks, splits) is the
/// compiler's, as in NVDLA; the hardware only follows it.
struct ConvDesc {
    int32_t src = -1, weight = -1;
    int64_t n = 1, c = 1, h = 1, w = 1;  // input cube (per image)
    int64_t k = 1, p = 1, q = 1;         // output channels and size
    int64_t r = 1, s = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
    int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0, groups = 1;
    int64_t fc = 0;               // 1: input is rows x c (Gemm/MatMul), each row a pixel
    std::string mode = "direct";  // direct | image | winograd
    int64_t post_ext = 1;         // image mode: lines merged per atomic (1, 2, 4)
    int64_t data_banks = 1, weight_banks = 1;
    int64_t k_chunks = 1;    // passes over the input, each with a resident slice of the kernels
    int64_t h_strips = 1;    // output-height strips, each loading its input rows (+ halo)
    int64_t strip_rows = 1;  // output rows per strip
    int64_t weights_resident = 1;  // 1: a chunk's weights stay in CBUF across strips
    Precision precision = Precision::Int8;

    template <class V>
    void visit(V&& v) {
        v("src", src), v("weight", weight), v("n", n), v("c", c), v("h", h), v("w", w);
        v("k", k), v("p", p), v("q", q), v("r", r), v("s", s), v("stride_h", stride_h);
        v("stride_w", stride_w), v("dil_h", dil_h), v("dil_w", dil_w), v("pad_t", pad_t);
        v("pad_l", pad_l), v("pad_b", pad_b), v("pad_r", pad_r), v("groups", groups), v("fc", fc);
        v("mode", mode), v("post_ext", post_ext), v("data_banks", data_banks);
        v("weight_banks", weight_banks), v("k_chunks", k_chunks), v("h_strips", h_strips);
        v("strip_rows", strip_rows), v("weights_resident", weights_resident);
        v("precision", precision);
    }
};

/// One SDP operation. int8 programs compute in an int32 "working" domain: v means v * s_work,
/// with s_work = (scale of the segment's result) / 2^frac_bits. Semantics by `op`:
///   cvt      v = M_c(acc + bias_c) from CACC (param: int32 [3, C] = bias, mantissa, shift) or
///            v = M(x) from an int8 surface (scalar m)
///   add/sub/max/min   v = v op M(e)   e: int8 operand surface (per element or per channel)
///   mul      v = M(v * e)             (M = s_e)
///   bias     v += b_c                 (param: int32 [C], working units)
///   scale    v = M_c(v)               (param: int32 [2, C] = mantissa, shift)
///   relu     v = max(v, 0);  clip: v = clamp(v, lo, hi);  lrelu: v < 0 ? M(v) : v
///   prelu    v < 0 ? M_c(v) : v       (param: int32 [2, C])
///   lut      i = sat8(v >> frac_bits); v = table[i + 128] << frac_bits (table: int8 [256])
///   rescale  v = M(v)                 (changes the working scale)
/// fp16 programs use the same ops on floats: params hold floats (cvt: [C] bias; scale, prelu:
/// [C]; bias: [C]), lut samples 257 points over [f0, f1] with linear interpolation, clip uses
/// f0/f1, lrelu f0, and M is unused.
struct SdpStage {
    std::string op = "relu";
    int32_t operand = -1;     // eltwise surface
    int64_t per_channel = 0;  // operand broadcast over H, W
    int32_t param = -1;       // constant surface of per-channel parameters
    int32_t table = -1;       // constant surface of the lookup table
    FixedMultiplier m;
    int64_t lo = 0, hi = 0;
    double f0 = 0, f1 = 0;

    template <class V>
    void visit(V&& v) {
        v("op", op), v("operand", operand), v("per_channel", per_channel), v("param", param);
        v("table", table), v("m", m), v("lo", lo), v("hi", hi), v("f0", f0), v("f1", f1);
    }
};

struct SdpDesc {
    int32_t src = -1;                    // input surface when not fused (source < 0)
    int32_t dst = -1;                    // output surface; -1 when a fused PDP takes the output
    int64_t c = 1, h = 1, w = 1, n = 1;  // output cube
    int64_t channel_last = 0;  // 1: the channel is the last logical axis (Gemm/MatMul rows)
    int64_t frac_bits = 8;
    Precision precision = Precision::Int8;
    std::vector<SdpStage> stages;

    template <class V>
    void visit(V&& v) {
        v("src", src), v("dst", dst), v("n", n), v("c", c), v("h", h), v("w", w);
        v("channel_last", channel_last), v("frac_bits", frac_bits), v("precision", precision);
    }
};

struct PdpDesc {
    int32_t src = -1, dst = -1;
    std::string pool = "max";  // max | avg
    int64_t n = 1, c = 1, h = 1, w = 1, p = 1, q = 1;
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
    int64_t count_include_pad = 0;
    double ratio = 1.0;  // s_in / s_out (int8): the requantization folded into the pooling
    Precision precision = Precision::Int8;

    template <class V>
    void visit(V&& v) {
        v("src", src), v("dst", dst), v("pool", pool), v("n", n), v("c", c), v("h", h), v("w", w);
        v("p", p), v("q", q), v("kh", kh), v("kw", kw), v("sh", sh), v("sw", sw);
        v("pad_t", pad_t), v("pad_l", pad_l), v("pad_b", pad_b), v("pad_r", pad_r);
        v("count_include_pad", count_include_pad), v("ratio", ratio), v("precision", precision);
    }
};

/// Local response normalization across channels (ONNX LRN semantics).
struct CdpDesc {
    int32_t src = -1, dst = -1;
    int64_t n = 1, c = 1, h = 1, w = 1, size = 5;
    double alpha = 1e-4, beta = 0.75, bias = 1.0;
    Precision precision = Precision::Int8;

    template <class V>
    void visit(V&& v) {
        v("src", src), v("dst", dst), v("n", n), v("c", c), v("h", h), v("w", w), v("size", size);
        v("alpha", alpha), v("beta", beta), v("bias", bias), v("precision", precision);
    }
};

/// A memory-to-memory copy (re-layout of a reshape that crosses the channel packing).
/// A memory-to-memory copy of `bytes` from src + src_offset to dst. A leading-axis Slice is such
/// a copy of the rows [first_row, first_row + rows of dst) of src: contiguous in the DRAM layout,
/// where the outermost axis is outermost, and in the logical tensor (elements from
/// first_element on).
struct BdmaDesc {
    int32_t src = -1, dst = -1;
    uint64_t bytes = 0;
    uint64_t src_offset = 0;    // bytes into src
    int64_t first_element = 0;  // logical element of src the copy starts at

    template <class V>
    void visit(V&& v) {
        v("src", src), v("dst", dst), v("bytes", bytes), v("src_offset", src_offset),
            v("first_element", first_element);
    }
};

/// An op run on the host CPU: its inputs cross the link to the host and its outputs come back.
/// The compute function is not part of the text form (see NpuProgram::host_calls).
struct HostDesc {
    int32_t call = -1;  // index into NpuProgram::host_calls
    std::string op_type;
    std::vector<int32_t> inputs, outputs;
    double flops = 0, bytes = 0;  // the host's work (sim::HostCost)

    template <class V>
    void visit(V&& v) {
        v("call", call), v("op_type", op_type), v("inputs", inputs), v("outputs", outputs);
        v("flops", flops), v("bytes", bytes);
    }
};

enum class Unit { Conv, Sdp, Pdp, Cdp, Bdma, Host };
const char* unit_name(Unit u);

struct Descriptor {
    int32_t id = -1;
    std::vector<std::string> nodes;  // graph nodes this register group implements
    int32_t source = -1;             // upstream descriptor feeding this one on the fly (fused mode)
    std::variant<ConvDesc, SdpDesc, PdpDesc, CdpDesc, BdmaDesc, HostDesc> payload;

    Unit unit() const { return static_cast<Unit>(payload.index()); }
    bool fused() const { return source >= 0; }
};

}  // namespace xpusim::isa::npu
