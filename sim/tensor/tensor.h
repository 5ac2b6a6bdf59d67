// Tensor: a shape, an element type and a contiguous row-major buffer. Copies share the buffer
// (like numpy views of one array); clone() makes an independent copy. Bulk math maps the buffer
// into Eigen with vec()/matrix(). A tensor read from a model file (from_file) takes its buffer
// the first time its data is accessed, so weights nothing reads take no memory.
#pragma once

#include <Eigen/Core>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sim/error.h"
#include "sim/tensor/dtype.h"
#include "sim/tensor/read_only_file.h"

namespace xpusim::sim {

using Shape = std::vector<int64_t>;

/// @brief Product of the dimensions; throws CapacityError if it overflows int64.
int64_t shape_numel(const Shape& shape);
/// @brief "1x3x224x224" ("scalar" for rank 0).
std::string shape_str(const Shape& shape);
/// @brief Row-major strides in elements.
std::vector<int64_t> shape_strides(const Shape& shape);

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The most bytes one tensor may take. Sizes that come from a model's data (an Expand to a shape
/// read from a constant, a declared input of 2^40 elements) are checked against it before
/// anything is allocated, so that a hostile file cannot make xpusim allocate what it cannot
/// justify. The limit is scoped: a TensorLimit sets it for the code that runs while it lives on
/// this thread (the driver sets the run's --max-tensor-gib); kDefaultMaxTensorBytes otherwise.
class TensorLimit {
  public:
    static constexpr uint64_t kDefaultMaxTensorBytes = uint64_t{2} << 30;

    explicit TensorLimit(uint64_t max_bytes);
    ~TensorLimit();
    TensorLimit(const TensorLimit&) = delete;
    TensorLimit& operator=(const TensorLimit&) = delete;

    /// @brief The limit in force on this thread.
    static uint64_t current();
    /// @brief CapacityError unless `numel` elements of `dtype` fit the limit; `what` says whose
    /// tensor it is ("node 'x' (Expand): output 0").
    static void check(int64_t numel, DType dtype, const std::string& shape_text,
                      const std::string& what);

  private:
    uint64_t m_previous;
};

class Tensor {
  public:
    /// An empty float32 scalar-less tensor (no storage); valid() is false.
    Tensor() = default;
    /// @brief Zero-filled tensor of the given type and shape; CapacityError beyond the
    /// TensorLimit in force.
    Tensor(DType dtype, Shape shape);
    /// @brief A tensor whose elements are unspecified until written, for an op that writes
    /// every one of them (it saves the zero fill); CapacityError as the constructor.
    static Tensor uninitialized(DType dtype, Shape shape);

    template <class T>
    static Tensor from_vector(const Shape& shape, const std::vector<T>& values);
    template <class T>
    static Tensor scalar(T value) {
        return from_vector<T>({}, {value});
    }
    /// @brief The tensor whose bytes are the file's [offset, offset + nbytes), little-endian
    /// row-major as in an ONNX raw_data field. They are read into the tensor's own (64-byte
    /// aligned) buffer the first time anything accesses its data (raw(), data(), vec(), cast(),
    /// ...; thread-safe; IoError then if the file was cut short meanwhile), and take no memory
    /// until then: shape, dtype, numel and clone() need no access. (Bytes in a file sit at any
    /// offset, so pointing into a mapping of it would break the alignment vec() promises Eigen.)
    /// CapacityError beyond the TensorLimit, Error if the range is not inside the file.
    static Tensor from_file(DType dtype, Shape shape, std::shared_ptr<const ReadOnlyFile> file,
                            std::size_t offset);

    bool valid() const { return m_storage != nullptr; }
    DType dtype() const { return m_dtype; }
    const Shape& shape() const { return m_shape; }
    int64_t rank() const { return static_cast<int64_t>(m_shape.size()); }
    int64_t dim(int64_t i) const { return m_shape.at(i < 0 ? i + rank() : i); }
    int64_t numel() const { return m_numel; }
    std::size_t nbytes() const { return static_cast<std::size_t>(m_numel) * dtype_size(m_dtype); }

    void* raw() { return m_storage ? m_storage->data() : nullptr; }
    const void* raw() const { return m_storage ? m_storage->data() : nullptr; }

    /// @brief Typed pointer; throws if T does not match dtype().
    template <class T>
    T* data() {
        check_type(DTypeOf<T>::value);
        return static_cast<T*>(raw());
    }
    template <class T>
    const T* data() const {
        check_type(DTypeOf<T>::value);
        return static_cast<const T*>(raw());
    }

    template <class T>
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>, Eigen::Aligned64> vec() {
        return {data<T>(), m_numel};
    }
    template <class T>
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>, Eigen::Aligned64> vec() const {
        return {data<T>(), m_numel};
    }
    /// @brief The buffer viewed as a row-major rows x cols matrix (rows*cols == numel).
    template <class T>
    Eigen::Map<RowMatrix<T>> matrix(int64_t rows, int64_t cols) {
        check_matrix(rows, cols);
        return {data<T>(), rows, cols};
    }
    template <class T>
    Eigen::Map<const RowMatrix<T>> matrix(int64_t rows, int64_t cols) const {
        check_matrix(rows, cols);
        return {data<T>(), rows, cols};
    }

    /// @brief Same buffer, new shape of the same element count.
    Tensor reshaped(Shape shape) const;
    /// @brief Independent deep copy.
    Tensor clone() const;
    /// @brief Element i converted to double (any dtype); for shapes, indices and printing.
    double get_as_double(int64_t i) const;
    /// @brief Element i converted to int64 (integer and bool dtypes, floats truncated).
    int64_t get_as_int64(int64_t i) const;
    /// @brief All elements as int64 (for shape-like tensors).
    std::vector<int64_t> to_int64_vector() const;
    /// @brief The element-wise conversion to another dtype (float rounding: nearest-even).
    Tensor cast(DType to) const;

  private:
    struct Storage;
    void check_type(DType t) const;
    void check_matrix(int64_t rows, int64_t cols) const;

    DType m_dtype = DType::Float32;
    Shape m_shape;
    int64_t m_numel = 0;
    std::shared_ptr<Storage> m_storage;

    // The buffer every copy of a tensor shares: memory (zero-filled unless the tensor was made
    // uninitialized), or bytes of a file read in on the first data() (after which it is the same
    // as the first kind). Writes through raw() go to that buffer, never to the file.
    struct Storage {
        Storage(std::size_t bytes, bool zeroed);
        Storage(std::shared_ptr<const ReadOnlyFile> file, std::size_t offset, std::size_t bytes);
        ~Storage();
        Storage(const Storage&) = delete;
        Storage& operator=(const Storage&) = delete;
        void* data() {
            void* p = m_ptr.load(std::memory_order_acquire);
            return p ? p : load_from_file();
        }
        void* load_from_file();
        // Another storage of the same file bytes, or nullptr once these are loaded.
        std::shared_ptr<Storage> unloaded_copy();

        std::atomic<void*> m_ptr{nullptr};
        std::size_t m_bytes;
        std::mutex m_loading;                        // one thread reads the file's bytes in
        std::shared_ptr<const ReadOnlyFile> m_file;  // until they are read
        std::size_t m_offset = 0;
    };
};

template <class T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, shape);
    if (static_cast<int64_t>(values.size()) != t.numel())
        throw Error("Tensor::from_vector: " + std::to_string(values.size()) + " values for shape " +
                    shape_str(shape));
    T* out = t.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i];
    return t;
}

}  // namespace xpusim::sim
