#include "sim/tensor/tensor.h"

#include <cstdio>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <sstream>

#include <sys/mman.h>

#include "sim/tensor/numeric_formats.h"

namespace xpusim::sim {

std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::Float64:
        case DType::Int64:
        case DType::UInt64:
            return 8;
        case DType::Float32:
        case DType::Int32:
        case DType::UInt32:
            return 4;
        case DType::Float16:
        case DType::BFloat16:
        case DType::Int16:
        case DType::UInt16:
            return 2;
        case DType::Float8E4M3:
        case DType::Float8E5M2:
        case DType::Int8:
        case DType::UInt8:
        case DType::Bool:
            return 1;
    }
    return 1;
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::Float32:
            return "float32";
        case DType::Float64:
            return "float64";
        case DType::Float16:
            return "float16";
        case DType::BFloat16:
            return "bfloat16";
        case DType::Float8E4M3:
            return "float8e4m3";
        case DType::Float8E5M2:
            return "float8e5m2";
        case DType::Int8:
            return "int8";
        case DType::UInt8:
            return "uint8";
        case DType::Int16:
            return "int16";
        case DType::UInt16:
            return "uint16";
        case DType::Int32:
            return "int32";
        case DType::UInt32:
            return "uint32";
        case DType::Int64:
            return "int64";
        case DType::UInt64:
            return "uint64";
        case DType::Bool:
            return "bool";
    }
    return "?";
}

DType dtype_from_name(const std::string& name) {
    for (int i = 0; i <= static_cast<int>(DType::Bool); ++i) {
        const auto t = static_cast<DType>(i);
        if (name == dtype_name(t)) return t;
    }
    throw ConfigError("unknown element type '" + name + "'");
}

bool is_float(DType t) {
    return t == DType::Float32 || t == DType::Float64 || t == DType::Float16 ||
           t == DType::BFloat16 || t == DType::Float8E4M3 || t == DType::Float8E5M2;
}

bool is_integer(DType t) {
    return !is_float(t) && t != DType::Bool;
}

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) throw ModelError("negative dimension in shape " + shape_str(shape));
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
            throw CapacityError("shape " + shape_str(shape) + " overflows 64-bit element count");
        n *= d;
    }
    return n;
}

std::string shape_str(const Shape& shape) {
    if (shape.empty()) return "scalar";
    std::ostringstream s;
    for (std::size_t i = 0; i < shape.size(); ++i) s << (i ? "x" : "") << shape[i];
    return s.str();
}

std::vector<int64_t> shape_strides(const Shape& shape) {
    std::vector<int64_t> strides(shape.size(), 1);
    for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
        strides[i] = strides[i + 1] * shape[i + 1];
    return strides;
}

namespace {
// 64-byte alignment for Eigen's vectorized maps; at least one line so data() is never null. The
// padding past `bytes` is always zero; the bytes themselves from `keep` on are zeroed for a
// new tensor (keep = 0) and a loaded one (keep = its size: all of them are read in), not for an
// uninitialized one (keep = bytes).
//
// A buffer of kMappedBytes or more is pages of its own, straight from the kernel: they come
// zeroed (no memset pass over them, the op's write is the first touch) and go back to the
// system when the tensor goes, so a run's resident memory follows its live tensors rather than
// what malloc's free lists kept (its mmap threshold grows with every large block it frees, and
// blocks under it stay on the heap). Between the two, a freed buffer waits in MappedPool for the
// next tensor of its exact size: an executor frees an op's inputs just before the next op asks
// for the same shapes, and a reused buffer costs neither the kernel's page faults and zeroing
// nor, for an uninitialized tensor, a memset.
// Under AddressSanitizer every buffer comes from malloc, where it checks bounds and reuse.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kMappedBytes = std::numeric_limits<std::size_t>::max();
#else
constexpr std::size_t kMappedBytes = std::size_t{1} << 20;
#endif
constexpr std::size_t kHugeBytes = std::size_t{8} << 20;

std::size_t rounded_bytes(std::size_t bytes) { return ((bytes + 63) / 64) * 64 + 64; }

// Freed mapped buffers, oldest first, at most kPoolBytes of them: past that the oldest go back
// to the system.
class MappedPool {
  public:
    static constexpr std::size_t kPoolBytes = std::size_t{128} << 20;

    void* take(std::size_t rounded) {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (auto it = m_free.begin(); it != m_free.end(); ++it)
            if (it->first == rounded) {
                void* p = it->second;
                m_free.erase(it);
                m_held -= rounded;
                return p;
            }
        return nullptr;
    }

    void give(void* p, std::size_t rounded) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (rounded > kPoolBytes) {
            munmap(p, rounded);
            return;
        }
        while (m_held + rounded > kPoolBytes) {
            munmap(m_free.front().second, m_free.front().first);
            m_held -= m_free.front().first;
            m_free.pop_front();
        }
        m_free.emplace_back(rounded, p);
        m_held += rounded;
    }

  private:
    std::mutex m_mutex;
    std::deque<std::pair<std::size_t, void*>> m_free;
    std::size_t m_held = 0;
};

// Never destroyed: a tensor with static storage duration may outlive any other static.
MappedPool& mapped_pool() {
    static MappedPool* pool = new MappedPool;
    return *pool;
}

void* allocate_buffer(std::size_t bytes, std::size_t keep) {
    const std::size_t rounded = rounded_bytes(bytes);
    if (rounded >= kMappedBytes) {
        if (void* p = mapped_pool().take(rounded)) {
            std::memset(static_cast<char*>(p) + keep, 0, rounded - keep);
            return p;
        }
        void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw CapacityError("out of memory allocating " + std::to_string(bytes) + " bytes");
        // Transparent huge pages where the system offers them on request: a 2 MiB page is one
        // fault where 4 KiB pages are 512 (a ResNet-50 batch-32 run faults in tens of GB).
        if (rounded >= kHugeBytes) madvise(p, rounded, MADV_HUGEPAGE);
        return p;
    }
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw CapacityError("out of memory allocating " + std::to_string(bytes) + " bytes");
    std::memset(static_cast<char*>(p) + keep, 0, rounded - keep);
    return p;
}

void free_buffer(void* p, std::size_t bytes) {
    if (!p) return;
    const std::size_t rounded = rounded_bytes(bytes);
    if (rounded >= kMappedBytes)
        mapped_pool().give(p, rounded);
    else
        std::free(p);
}
}  // namespace

Tensor::Storage::Storage(std::size_t bytes, bool zeroed)
    : m_ptr(allocate_buffer(bytes, zeroed ? 0 : bytes)), m_bytes(bytes) {}

Tensor::Storage::Storage(std::shared_ptr<const ReadOnlyFile> file, std::size_t offset,
                         std::size_t bytes)
    : m_bytes(bytes), m_file(std::move(file)), m_offset(offset) {}

Tensor::Storage::~Storage() {
    free_buffer(m_ptr.load(std::memory_order_relaxed), m_bytes);
}

void* Tensor::Storage::load_from_file() {
    std::lock_guard<std::mutex> lock(m_loading);
    if (void* p = m_ptr.load(std::memory_order_relaxed)) return p;  // another thread loaded it
    void* p = allocate_buffer(m_bytes, m_bytes);
    try {
        m_file->read(m_offset, m_bytes, p);
    } catch (...) {
        free_buffer(p, m_bytes);
        throw;
    }
    m_file.reset();  // the last tensor to load (or go) closes the file
    m_ptr.store(p, std::memory_order_release);
    return p;
}

std::shared_ptr<Tensor::Storage> Tensor::Storage::unloaded_copy() {
    std::lock_guard<std::mutex> lock(m_loading);
    if (!m_file) return nullptr;
    return std::make_shared<Storage>(m_file, m_offset, m_bytes);
}

namespace {
thread_local uint64_t t_max_tensor_bytes = TensorLimit::kDefaultMaxTensorBytes;

std::string bytes_text(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (b >= 1024 && u < 6) b /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.3g %s" : "%.0f %s", b, units[u]);
    return buf;
}
}  // namespace

TensorLimit::TensorLimit(uint64_t max_bytes) : m_previous(t_max_tensor_bytes) {
    t_max_tensor_bytes = max_bytes;
}

TensorLimit::~TensorLimit() {
    t_max_tensor_bytes = m_previous;
}

uint64_t TensorLimit::current() {
    return t_max_tensor_bytes;
}

void TensorLimit::check(int64_t numel, DType dtype, const std::string& shape_text,
                        const std::string& what) {
    const double bytes = static_cast<double>(numel) * static_cast<double>(dtype_size(dtype));
    if (bytes > static_cast<double>(t_max_tensor_bytes))
        throw CapacityError(
            what + (what.empty() ? "" : ": ") + "a tensor of shape " + shape_text + " " +
            dtype_name(dtype) + " needs " + bytes_text(bytes) + ", over the limit of " +
            bytes_text(static_cast<double>(t_max_tensor_bytes)) + " per tensor (--max-tensor-gib)");
}

Tensor::Tensor(DType dtype, Shape shape)
    : m_dtype(dtype), m_shape(std::move(shape)), m_numel(shape_numel(m_shape)) {
    TensorLimit::check(m_numel, dtype, shape_str(m_shape), "");
    m_storage = std::make_shared<Storage>(static_cast<std::size_t>(m_numel) * dtype_size(dtype), true);
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = std::move(shape);
    t.m_numel = shape_numel(t.m_shape);
    TensorLimit::check(t.m_numel, dtype, shape_str(t.m_shape), "");
    t.m_storage = std::make_shared<Storage>(static_cast<std::size_t>(t.m_numel) * dtype_size(dtype), false);
    return t;
}

Tensor Tensor::from_file(DType dtype, Shape shape, std::shared_ptr<const ReadOnlyFile> file,
                         std::size_t offset) {
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = std::move(shape);
    t.m_numel = shape_numel(t.m_shape);
    TensorLimit::check(t.m_numel, dtype, shape_str(t.m_shape), "");
    const std::size_t bytes = t.nbytes();
    if (!file || offset > file->size() || bytes > file->size() - offset)
        throw Error("Tensor::from_file: " + std::to_string(bytes) + " bytes at offset " +
                    std::to_string(offset) + " are not inside " +
                    (file ? "'" + file->path() + "' (" + std::to_string(file->size()) + " bytes)"
                          : std::string("a file")));
    t.m_storage = bytes ? std::make_shared<Storage>(std::move(file), offset, bytes)
                        : std::make_shared<Storage>(0, true);
    return t;
}

void Tensor::check_type(DType t) const {
    if (t != m_dtype)
        throw Error(std::string("tensor holds ") + dtype_name(m_dtype) + ", accessed as " +
                    dtype_name(t));
}

void Tensor::check_matrix(int64_t rows, int64_t cols) const {
    if (rows * cols != m_numel)
        throw Error("cannot view " + shape_str(m_shape) + " as " + std::to_string(rows) + "x" +
                    std::to_string(cols));
}

Tensor Tensor::reshaped(Shape shape) const {
    if (shape_numel(shape) != m_numel)
        throw ModelError("cannot reshape " + shape_str(m_shape) + " to " + shape_str(shape));
    Tensor t = *this;
    t.m_shape = std::move(shape);
    return t;
}

Tensor Tensor::clone() const {
    // A tensor still in its file clones into another of the same file bytes, read when first
    // accessed like the original's: each has its own buffer, so neither is read to copy it.
    if (m_storage)
        if (auto unloaded = m_storage->unloaded_copy()) {
            Tensor t = *this;
            t.m_storage = std::move(unloaded);
            return t;
        }
    Tensor t(m_dtype, m_shape);
    if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
    return t;
}

double Tensor::get_as_double(int64_t i) const {
    const void* p = raw();
    switch (m_dtype) {
        case DType::Float32:
            return static_cast<const float*>(p)[i];
        case DType::Float64:
            return static_cast<const double*>(p)[i];
        case DType::Float16:
            return half_bits_to_float(static_cast<const uint16_t*>(p)[i]);
        case DType::BFloat16:
            return bf16_bits_to_float(static_cast<const uint16_t*>(p)[i]);
        case DType::Float8E4M3:
            return e4m3_bits_to_float(static_cast<const uint8_t*>(p)[i]);
        case DType::Float8E5M2:
            return e5m2_bits_to_float(static_cast<const uint8_t*>(p)[i]);
        case DType::Int8:
            return static_cast<const int8_t*>(p)[i];
        case DType::UInt8:
            return static_cast<const uint8_t*>(p)[i];
        case DType::Int16:
            return static_cast<const int16_t*>(p)[i];
        case DType::UInt16:
            return static_cast<const uint16_t*>(p)[i];
        case DType::Int32:
            return static_cast<const int32_t*>(p)[i];
        case DType::UInt32:
            return static_cast<const uint32_t*>(p)[i];
        case DType::Int64:
            return static_cast<double>(static_cast<const int64_t*>(p)[i]);
        case DType::UInt64:
            return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
        case DType::Bool:
            return static_cast<const bool*>(p)[i] ? 1.0 : 0.0;
    }
    return 0.0;
}

int64_t Tensor::get_as_int64(int64_t i) const {
    const void* p = raw();
    switch (m_dtype) {
        case DType::Int8:
            return static_cast<const int8_t*>(p)[i];
        case DType::UInt8:
            return static_cast<const uint8_t*>(p)[i];
        case DType::Int16:
            return static_cast<const int16_t*>(p)[i];
        case DType::UInt16:
            return static_cast<const uint16_t*>(p)[i];
        case DType::Int32:
            return static_cast<const int32_t*>(p)[i];
        case DType::UInt32:
            return static_cast<const uint32_t*>(p)[i];
        case DType::Int64:
            return static_cast<const int64_t*>(p)[i];
        case DType::UInt64:
            return static_cast<int64_t>(static_cast<const uint64_t*>(p)[i]);
        case DType::Bool:
            return static_cast<const bool*>(p)[i] ? 1 : 0;
        default:
            return static_cast<int64_t>(get_as_double(i));
    }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
    std::vector<int64_t> v(static_cast<std::size_t>(m_numel));
    for (int64_t i = 0; i < m_numel; ++i) v[i] = get_as_int64(i);
    return v;
}

namespace {

// Converts one element through double (exact for every source type but 64-bit integers beyond
// 2^53, which go integer to integer directly).
template <class To>
To convert_from_double(double v) {
    if constexpr (std::is_same_v<To, bool>) {
        return v != 0.0;
    } else if constexpr (std::is_integral_v<To>) {
        // Out-of-range float -> int is undefined in C++ and unspecified in ONNX. Follow x86's
        // truncating conversions, as ONNX Runtime does: 32- and 64-bit targets get the "integer
        // indefinite" value (the type's minimum) for NaN and out-of-range values; narrower
        // types convert through int32 and keep the low bits.
        if constexpr (std::is_same_v<To, int64_t> || std::is_same_v<To, uint64_t>) {
            if (std::isnan(v) || v >= 9.2233720368547758e18 || v < -9.2233720368547758e18)
                return static_cast<To>(std::numeric_limits<int64_t>::min());
            return static_cast<To>(static_cast<int64_t>(v));
        } else if constexpr (std::is_same_v<To, uint32_t>) {
            if (std::isnan(v) || v >= 9.2233720368547758e18 || v < -9.2233720368547758e18)
                return To(0);
            return static_cast<To>(static_cast<int64_t>(v));
        } else {
            if (std::isnan(v) || v >= 2147483648.0 || v < -2147483648.0)
                return static_cast<To>(std::numeric_limits<int32_t>::min());
            return static_cast<To>(static_cast<int32_t>(v));
        }
    } else {
        return static_cast<To>(v);
    }
}

template <class To>
void cast_into(const Tensor& in, To* out) {
    const int64_t n = in.numel();
    if (is_integer(in.dtype()) || in.dtype() == DType::Bool) {
        for (int64_t i = 0; i < n; ++i) {
            if constexpr (std::is_same_v<To, bool>)
                out[i] = in.get_as_int64(i) != 0;
            else if constexpr (std::is_integral_v<To>)
                out[i] = static_cast<To>(in.get_as_int64(i));
            else if (in.dtype() == DType::UInt64)
                out[i] = static_cast<To>(static_cast<const uint64_t*>(in.raw())[i]);
            else
                out[i] = static_cast<To>(in.get_as_int64(i));
        }
    } else if (in.dtype() == DType::Float32 && std::is_same_v<To, double>) {
        const float* src = static_cast<const float*>(in.raw());
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<To>(src[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) out[i] = convert_from_double<To>(in.get_as_double(i));
    }
}

// Narrow floats round from the fp32 value, as ONNX Runtime does (double inputs go through a
// float first, which can double-round; matching ORT matters more here).
template <class Encode>
void cast_narrow(const Tensor& in, uint8_t* out8, uint16_t* out16, Encode encode) {
    for (int64_t i = 0; i < in.numel(); ++i) {
        const float f = static_cast<float>(in.get_as_double(i));
        if (out8)
            out8[i] = static_cast<uint8_t>(encode(f));
        else
            out16[i] = static_cast<uint16_t>(encode(f));
    }
}

}  // namespace

Tensor Tensor::cast(DType to) const {
    if (to == m_dtype) return clone();
    Tensor out(to, m_shape);
    void* o = out.raw();
    switch (to) {
        case DType::Float32:
            cast_into(*this, static_cast<float*>(o));
            break;
        case DType::Float64:
            cast_into(*this, static_cast<double*>(o));
            break;
        case DType::Int8:
            cast_into(*this, static_cast<int8_t*>(o));
            break;
        case DType::UInt8:
            cast_into(*this, static_cast<uint8_t*>(o));
            break;
        case DType::Int16:
            cast_into(*this, static_cast<int16_t*>(o));
            break;
        case DType::UInt16:
            cast_into(*this, static_cast<uint16_t*>(o));
            break;
        case DType::Int32:
            cast_into(*this, static_cast<int32_t*>(o));
            break;
        case DType::UInt32:
            cast_into(*this, static_cast<uint32_t*>(o));
            break;
        case DType::Int64:
            cast_into(*this, static_cast<int64_t*>(o));
            break;
        case DType::UInt64:
            cast_into(*this, static_cast<uint64_t*>(o));
            break;
        case DType::Bool:
            cast_into(*this, static_cast<bool*>(o));
            break;
        case DType::Float16:
            cast_narrow(*this, nullptr, static_cast<uint16_t*>(o), float_to_half_bits);
            break;
        case DType::BFloat16:
            cast_narrow(*this, nullptr, static_cast<uint16_t*>(o), float_to_bf16_bits);
            break;
        case DType::Float8E4M3:
            cast_narrow(*this, static_cast<uint8_t*>(o), nullptr,
                        [](float f) { return float_to_e4m3_bits(f); });
            break;
        case DType::Float8E5M2:
            cast_narrow(*this, static_cast<uint8_t*>(o), nullptr,
                        [](float f) { return float_to_e5m2_bits(f); });
            break;
    }
    return out;
}

}  // namespace xpusim::sim
