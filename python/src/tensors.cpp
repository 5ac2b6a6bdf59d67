#include <cstring>

#include "python/src/bindings.h"

namespace xpusim::python {

namespace {

const char* numpy_dtype_name(sim::DType t) {
    switch (t) {
        case sim::DType::Float32:
            return "float32";
        case sim::DType::Float64:
            return "float64";
        case sim::DType::Float16:
            return "float16";
        case sim::DType::BFloat16:
            return "uint16";
        case sim::DType::Float8E4M3:
        case sim::DType::Float8E5M2:
            return "uint8";
        case sim::DType::Int8:
            return "int8";
        case sim::DType::UInt8:
            return "uint8";
        case sim::DType::Int16:
            return "int16";
        case sim::DType::UInt16:
            return "uint16";
        case sim::DType::Int32:
            return "int32";
        case sim::DType::UInt32:
            return "uint32";
        case sim::DType::Int64:
            return "int64";
        case sim::DType::UInt64:
            return "uint64";
        case sim::DType::Bool:
            return "bool";
    }
    throw sim::Error("tensor of unknown dtype");
}

sim::DType dtype_of_numpy(const py::dtype& dt, const std::string& name) {
    const char kind = dt.kind();
    const auto size = dt.itemsize();
    if (kind == 'f' && size == 4) return sim::DType::Float32;
    if (kind == 'f' && size == 8) return sim::DType::Float64;
    if (kind == 'f' && size == 2) return sim::DType::Float16;
    if (kind == 'b' && size == 1) return sim::DType::Bool;
    if (kind == 'i') {
        if (size == 1) return sim::DType::Int8;
        if (size == 2) return sim::DType::Int16;
        if (size == 4) return sim::DType::Int32;
        if (size == 8) return sim::DType::Int64;
    }
    if (kind == 'u') {
        if (size == 1) return sim::DType::UInt8;
        if (size == 2) return sim::DType::UInt16;
        if (size == 4) return sim::DType::UInt32;
        if (size == 8) return sim::DType::UInt64;
    }
    throw sim::ModelError("input '" + name + "': numpy dtype '" +
                          dt.attr("name").cast<std::string>() + "' has no xpusim counterpart");
}

}  // namespace

py::array tensor_to_numpy(const sim::Tensor& tensor) {
    if (!tensor.valid()) throw sim::Error("an output tensor holds no data");
    const py::dtype dtype(numpy_dtype_name(tensor.dtype()));
    std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
    // numpy allocates its own buffer when handed a null pointer, so empty tensors get a fresh
    // (empty) array rather than a view.
    if (tensor.numel() == 0) return py::array(dtype, shape);
    std::vector<py::ssize_t> strides;
    for (const int64_t s : sim::shape_strides(tensor.shape()))
        strides.push_back(static_cast<py::ssize_t>(s * sim::dtype_size(tensor.dtype())));
    auto* owner = new sim::Tensor(tensor);  // shares the buffer; freed with the array
    py::capsule base(owner, [](void* p) { delete static_cast<sim::Tensor*>(p); });
    return py::array(dtype, shape, strides, const_cast<void*>(owner->raw()), base);
}

sim::Tensor numpy_to_tensor(const py::array& array, const std::string& name) {
    const sim::DType dtype = dtype_of_numpy(array.dtype(), name);
    if (array.dtype().attr("isnative").cast<bool>() == false)
        throw sim::ModelError("input '" + name + "' is not in native byte order");
    const py::array contiguous = py::array::ensure(array, py::array::c_style);
    if (!contiguous) throw py::error_already_set();
    sim::Shape shape(contiguous.shape(), contiguous.shape() + contiguous.ndim());
    sim::Tensor t(dtype, shape);
    if (t.nbytes() > 0) std::memcpy(t.raw(), contiguous.data(), t.nbytes());
    return t;
}

}  // namespace xpusim::python
