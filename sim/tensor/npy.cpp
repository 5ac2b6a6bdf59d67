#include "sim/tensor/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

namespace xpusim::sim {

namespace {

struct NpyType {
    const char* descr;
    DType dtype;
};
// numpy has no bfloat16 or fp8: those are stored as unsigned bit patterns (see write_npy).
constexpr NpyType kTypes[] = {
    {"<f4", DType::Float32}, {"<f8", DType::Float64}, {"<f2", DType::Float16},
    {"|i1", DType::Int8},    {"|u1", DType::UInt8},   {"<i2", DType::Int16},
    {"<u2", DType::UInt16},  {"<i4", DType::Int32},   {"<u4", DType::UInt32},
    {"<i8", DType::Int64},   {"<u8", DType::UInt64},  {"|b1", DType::Bool},
};

const char* descr_of(DType t) {
    switch (t) {
        case DType::BFloat16:
            return "<u2";
        case DType::Float8E4M3:
        case DType::Float8E5M2:
            return "|u1";
        default:
            break;
    }
    for (const auto& k : kTypes)
        if (k.dtype == t) return k.descr;
    return "|u1";
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& what) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        throw ModelError(what + ": not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(bytes[6]);
    std::size_t header_len, offset;
    if (major == 1) {
        header_len =
            static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw ModelError(what + ": truncated .npy header");
        header_len = 0;
        for (int i = 0; i < 4; ++i)
            header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i]))
                          << (8 * i);
        offset = 12;
    } else {
        throw ModelError(what + ": unsupported .npy version " + std::to_string(major));
    }
    if (offset + header_len > bytes.size()) throw ModelError(what + ": truncated .npy header");
    const std::string header = bytes.substr(offset, header_len);
    std::smatch m;
    if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")))
        throw ModelError(what + ": .npy header has no 'descr'");
    std::string descr = m[1];
    if (descr == "<b1" || descr == "b1") descr = "|b1";
    if (descr == "<i1") descr = "|i1";
    if (descr == "<u1") descr = "|u1";
    if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
        throw ModelError(what + ": Fortran-order .npy arrays are not supported");
    if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
        throw ModelError(what + ": .npy header has no 'shape'");
    Shape shape;
    std::stringstream dims(m[1].str());
    std::string tok;
    while (std::getline(dims, tok, ',')) {
        tok.erase(0, tok.find_first_not_of(" \t"));
        tok.erase(tok.find_last_not_of(" \tL") + 1);
        if (tok.empty()) continue;
        try {
            const long long d = std::stoll(tok);
            if (d < 0) throw std::out_of_range("negative");
            shape.push_back(d);
        } catch (const std::exception&) {
            throw ModelError(what + ": bad .npy dimension '" + tok + "'");
        }
    }
    const NpyType* type = nullptr;
    for (const auto& k : kTypes)
        if (descr == k.descr) type = &k;
    if (!type) throw ModelError(what + ": unsupported .npy dtype '" + descr + "'");
    const int64_t numel = shape_numel(shape);
    const std::size_t data_bytes = bytes.size() - offset - header_len;
    if (static_cast<uint64_t>(numel) > data_bytes / dtype_size(type->dtype))
        throw ModelError(what + ": .npy declares shape " + shape_str(shape) + " but holds " +
                         std::to_string(data_bytes) + " bytes of data");
    Tensor t(type->dtype, shape);
    if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + offset + header_len, t.nbytes());
    return t;
}

Tensor read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open input file '" + path + "'");
    std::ostringstream s;
    s << in.rdbuf();
    return parse_npy(s.str(), "'" + path + "'");
}

std::string serialize_npy(const Tensor& t) {
    std::string shape = "(";
    for (std::size_t i = 0; i < t.shape().size(); ++i)
        shape += std::to_string(t.shape()[i]) +
                 (t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
    shape += ")";
    std::string header = std::string("{'descr': '") + descr_of(t.dtype()) +
                         "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad with spaces so the data starts on a 64-byte boundary; the header ends in '\n'.
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>((header.size() >> 8) & 0xff);
    out += header;
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
    return out;
}

void write_npy(const std::string& path, const Tensor& t) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw IoError("cannot write '" + path + "'");
    const std::string bytes = serialize_npy(t);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw IoError("error writing '" + path + "'");
}

}  // namespace xpusim::sim
