#include "models/npu/npu_memory.h"

#include <cstring>

#include "sim/error.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::models::npu {

namespace {

sim::DType storage_dtype(sim::DType d) {
    return (d == sim::DType::Float16 || d == sim::DType::Float32) ? sim::DType::Float32 : d;
}

// [N, C, rest...] channel range [c0, c0 + cs) of `t`.
Tensor slice_channels(const Tensor& t, int64_t c0, int64_t cs) {
    sim::Shape shape = t.shape();
    const int64_t n = shape.at(0), c = shape.at(1);
    const int64_t inner = t.numel() / (n * c);
    shape[1] = cs;
    Tensor out(t.dtype(), shape);
    const std::size_t es = sim::dtype_size(t.dtype());
    const auto* src = static_cast<const uint8_t*>(t.raw());
    auto* dst = static_cast<uint8_t*>(out.raw());
    for (int64_t b = 0; b < n; ++b)
        std::memcpy(dst + static_cast<std::size_t>(b * cs * inner) * es,
                    src + static_cast<std::size_t>((b * c + c0) * inner) * es,
                    static_cast<std::size_t>(cs * inner) * es);
    return out;
}

void insert_channels(Tensor& parent, const Tensor& part, int64_t c0) {
    const int64_t n = parent.dim(0), c = parent.dim(1);
    const int64_t inner = parent.numel() / (n * c);
    const int64_t cs = part.dim(1);
    const std::size_t es = sim::dtype_size(parent.dtype());
    auto* dst = static_cast<uint8_t*>(parent.raw());
    const auto* src = static_cast<const uint8_t*>(part.raw());
    for (int64_t b = 0; b < n; ++b)
        std::memcpy(dst + static_cast<std::size_t>((b * c + c0) * inner) * es,
                    src + static_cast<std::size_t>(b * cs * inner) * es,
                    static_cast<std::size_t>(cs * inner) * es);
}

}  // namespace

Tensor dequantize_tensor(const Tensor& t, double scale) {
    if (t.dtype() == sim::DType::Float32) return t;
    if (t.dtype() != sim::DType::Int8) return t.cast(sim::DType::Float32);
    Tensor out(sim::DType::Float32, t.shape());
    const int8_t* p = t.data<int8_t>();
    float* o = out.data<float>();
    const float s = static_cast<float>(scale);
    for (int64_t i = 0; i < t.numel(); ++i) o[i] = s * static_cast<float>(p[i]);
    return out;
}

Tensor quantize_tensor(const Tensor& t, const Surface& s) {
    if (s.dtype != sim::DType::Int8 && s.dtype != sim::DType::Float16 &&
        s.dtype != sim::DType::Float32)
        return t.dtype() == s.dtype ? t : t.cast(s.dtype);  // host results kept in their own type
    const Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    if (s.dtype == sim::DType::Int8) {
        Tensor out(sim::DType::Int8, f.shape());
        const float* p = f.data<float>();
        int8_t* o = out.data<int8_t>();
        const sim::QuantParams q{static_cast<float>(s.scale), 0};
        for (int64_t i = 0; i < f.numel(); ++i) o[i] = sim::quantize_int8(p[i], q);
        return out;
    }
    Tensor out = f.clone();
    if (s.dtype == sim::DType::Float16)
        sim::round_to_format(out.data<float>(), static_cast<long>(out.numel()),
                             sim::NumericFormat::Float16);
    return out;
}

NpuMemory::NpuMemory(const NpuProgram& program) : m_program(program) {
    for (const auto& s : program.surfaces)
        if (s.kind == "const" && s.data.valid()) m_storage[s.id] = s.data;
}

// Views only reshape: the surface a chain of views (of any length) stands for.
int32_t NpuMemory::through_views(int32_t id) const {
    for (std::size_t hops = 0; m_program.surface(id).kind == "view"; ++hops) {
        if (hops > m_program.surfaces.size())
            throw sim::ModelError("NPU program: view alias cycle");
        id = m_program.surface(id).alias;
    }
    return id;
}

Tensor NpuMemory::read(int32_t id) const {
    const Surface& s = m_program.surface(id);
    if (s.kind == "view") return read(through_views(id)).reshaped(s.shape);
    if (s.alias < 0) {
        auto it = m_storage.find(id);
        if (it == m_storage.end())
            throw sim::Error("NPU model: surface " + std::to_string(id) + " ('" + s.name +
                             "') is read before anything wrote it");
        return it->second;
    }
    const Tensor base = read(s.alias);
    if (s.kind == "slice") return slice_channels(base, s.channel_offset, s.shape.at(1));
    return base.reshaped(s.shape);
}

void NpuMemory::write(int32_t id, const Tensor& value) {
    const Surface& s = m_program.surface(id);
    if (sim::shape_numel(s.shape) != value.numel())
        throw sim::Error("NPU model: writing " + std::to_string(value.numel()) +
                         " values into surface '" + s.name + "' of shape " +
                         sim::shape_str(s.shape));
    if (s.alias < 0) {
        m_storage[id] = value.reshaped(s.shape).clone();
        return;
    }
    const Surface& parent = m_program.surface(s.alias);
    if (s.kind == "slice") {
        Tensor whole;
        const Surface& root = m_program.storage(s.alias);
        auto it = m_storage.find(root.id);
        if (parent.alias < 0 && it != m_storage.end()) {
            whole = it->second;
        } else {
            whole = Tensor(storage_dtype(parent.dtype), parent.shape);
            try {
                whole = read(s.alias).clone();
            } catch (const sim::Error&) {
                // first slice written: the other channels are filled by their own producers
            }
        }
        insert_channels(whole, value.reshaped(s.shape), s.channel_offset);
        write(s.alias, whole);
        return;
    }
    const int32_t target = through_views(s.alias);
    write(target, value.reshaped(m_program.surface(target).shape));
}

void NpuMemory::load_input(int32_t id, const Tensor& value) {
    write(id, quantize_tensor(value, m_program.surface(id)));
}

bool NpuMemory::written(int32_t id) const {
    return m_storage.count(m_program.storage(through_views(id)).id) != 0;
}

Tensor NpuMemory::read_real(int32_t id) const {
    const Surface& s = m_program.surface(id);
    if (s.dtype != sim::DType::Int8) return read(id);  // floats, or a host op's own integers
    return dequantize_tensor(read(id), m_program.storage(id).scale);
}

}  // namespace xpusim::models::npu
