// Signal processing (opset 17 on; DFT also in its opset 20 form): the Hann, Hamming and
// Blackman windows, DFT, STFT and MelWeightMatrix. Complex tensors carry a trailing axis of 2
// (real, imaginary); real ones a trailing axis of 1. Transforms run in double.
#include <cmath>
#include <complex>
#include <utility>
#include <vector>

#include "frontends/onnx/loader.h"
#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

constexpr double kPi = 3.14159265358979323846;

using Complex = std::complex<double>;

// An attribute that is a 0/1 flag.
bool flag_attr(const Node& node, const char* name, int64_t def) {
    const int64_t v = node.attr_int(name, def);
    if (v != 0 && v != 1)
        fail(node, std::string("'") + name + "' must be 0 or 1, got " + std::to_string(v));
    return v == 1;
}

// Input i as a one-element int32/int64 tensor.
int64_t scalar_int(const OpArgs& a, std::size_t i, const char* what) {
    const Tensor& t = a.value(i);
    if (t.dtype() != DType::Int32 && t.dtype() != DType::Int64)
        fail(a.node, std::string(what) + " must be int32 or int64, got " + describe_tensor(t));
    if (t.numel() != 1)
        fail(a.node, std::string(what) + " must be a scalar, got " + describe_tensor(t));
    return t.get_as_int64(0);
}

// Input i as a one-element float tensor.
double scalar_float(const OpArgs& a, std::size_t i, const char* what) {
    const Tensor& t = a.value(i);
    if (!sim::is_float(t.dtype()) || t.numel() != 1)
        fail(a.node, std::string(what) + " must be a float scalar, got " + describe_tensor(t));
    return t.get_as_double(0);
}

// 'output_datatype' (default 1, FLOAT): any numeric type but bool and the fp8 formats.
DType output_datatype(const Node& node) {
    const int64_t code = node.attr_int("output_datatype", 1);
    const DType t = dtype_from_onnx(static_cast<int>(code), node.describe() + ": output_datatype");
    if (t == DType::Bool || t == DType::Float8E4M3 || t == DType::Float8E5M2)
        throw sim::UnsupportedError(node.describe() + ": output_datatype " + std::to_string(code) +
                                    " (" + sim::dtype_name(t) + ") is not allowed");
    return t;
}

// ---- windows ------------------------------------------------------------------------------------

// A cosine-sum window: w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N) for n in [0, size),
// with N = size when 'periodic' (default 1) and size - 1 when symmetric. Hann is (0.5, 0.5, 0),
// Hamming (25/46, 21/46, 0), Blackman (0.42, 0.5, 0.08). A symmetric window of size 1 divides
// 0 by 0 (NaN), as the formula and ONNX Runtime do.
struct CosineSum {
    double a0, a1, a2;
};

int64_t window_size(const OpArgs& a) {
    const int64_t size = scalar_int(a, 0, "size");
    if (size < 0) fail(a.node, "size must not be negative, got " + std::to_string(size));
    return size;
}

void infer_window(InferContext& ctx) {
    ctx.set_output(0, output_datatype(ctx.node), {window_size(args_of(ctx))});
}

Tensor cosine_window(const KernelContext& ctx, CosineSum c) {
    const int64_t size = window_size(args_of(ctx));
    const bool periodic = flag_attr(ctx.node, "periodic", 1);
    const double n = static_cast<double>(periodic ? size : size - 1);
    Tensor w(DType::Float64, {size});
    double* out = w.data<double>();
    for (int64_t i = 0; i < size; ++i) {
        const double t = 2 * kPi * static_cast<double>(i) / n;
        out[i] = c.a0 - c.a1 * std::cos(t) + c.a2 * std::cos(2 * t);
    }
    return w.cast(output_datatype(ctx.node));
}

OpKernel window_kernel(CosineSum c) {
    return OpKernel{
        infer_window,
        [c](const KernelContext& ctx) { return std::vector<Tensor>{cosine_window(ctx, c)}; },
        /*widen_half=*/false};
}

XPUSIM_REGISTER_OP("HannWindow", window_kernel({0.5, 0.5, 0.0}));
XPUSIM_REGISTER_OP("HammingWindow", window_kernel({25.0 / 46.0, 21.0 / 46.0, 0.0}));
XPUSIM_REGISTER_OP("BlackmanWindow", window_kernel({0.42, 0.5, 0.08}));

// ---- the transform ------------------------------------------------------------------------------

// The radix-2 Cooley-Tukey FFT of a power-of-two length n: X[k] = sum_j x[j] e^(-2 pi i jk / n).
class Radix2Fft {
  public:
    explicit Radix2Fft(int64_t n) : m_n(n), m_twiddle(static_cast<std::size_t>(n / 2)) {
        for (int64_t m = 0; m < n / 2; ++m)
            m_twiddle[m] =
                std::polar(1.0, -2 * kPi * static_cast<double>(m) / static_cast<double>(n));
    }

    int64_t size() const { return m_n; }

    /// @brief Transforms x (of length n) in place.
    void operator()(std::vector<Complex>& x) const {
        for (int64_t i = 1, j = 0; i < m_n; ++i) {  // bit-reversal permutation
            int64_t bit = m_n >> 1;
            for (; j & bit; bit >>= 1) j ^= bit;
            j |= bit;
            if (i < j) std::swap(x[i], x[j]);
        }
        for (int64_t len = 2; len <= m_n; len <<= 1) {
            const int64_t step = m_n / len;
            for (int64_t i = 0; i < m_n; i += len) {
                for (int64_t j = 0; j < len / 2; ++j) {
                    const Complex u = x[i + j];
                    const Complex v = x[i + j + len / 2] * m_twiddle[j * step];
                    x[i + j] = u + v;
                    x[i + j + len / 2] = u - v;
                }
            }
        }
    }

  private:
    int64_t m_n;
    std::vector<Complex> m_twiddle;  // e^(-2 pi i m / n) for m < n / 2
};

bool is_power_of_two(int64_t n) {
    return (n & (n - 1)) == 0;
}

// The smallest power of two m >= 2n - 1: Bluestein's convolution of n terms fits without wrapping.
int64_t bluestein_size(int64_t n) {
    int64_t m = 1;
    while (m < 2 * n - 1) m <<= 1;
    return m;
}

// The DFT of any length n >= 1, X[k] = sum_j x[j] e^(-2 pi i jk / n), and the inverse, the
// e^(+2 pi i jk / n) sum divided by n, computed as conj(DFT(conj x)) / n. A power of two runs
// radix-2 directly. Other lengths use Bluestein's algorithm: jk = (j^2 + k^2 - (k - j)^2) / 2
// turns the sum, with c[k] = e^(-pi i k^2 / n), into X[k] = c[k] sum_j (x[j] c[j]) conj(c[k - j]),
// a convolution done by radix-2 FFTs of length bluestein_size(n). k^2 is reduced mod 2n before
// the angle is formed, so the chirp keeps full precision for long transforms.
class FourierTransform {
  public:
    FourierTransform(int64_t n, bool inverse)
        : m_n(n), m_inverse(inverse), m_fft(is_power_of_two(n) ? n : bluestein_size(n)) {
        if (is_power_of_two(n)) return;
        const int64_t m = m_fft.size();
        m_chirp.resize(static_cast<std::size_t>(n));
        for (int64_t k = 0; k < n; ++k)
            m_chirp[k] = std::polar(
                1.0, -kPi * static_cast<double>((k * k) % (2 * n)) / static_cast<double>(n));
        // conj(c[l]) for l in (-n, n), laid out circularly over m, transformed once.
        m_chirp_fft.assign(static_cast<std::size_t>(m), 0.0);
        m_chirp_fft[0] = std::conj(m_chirp[0]);
        for (int64_t k = 1; k < n; ++k) m_chirp_fft[k] = m_chirp_fft[m - k] = std::conj(m_chirp[k]);
        m_fft(m_chirp_fft);
    }

    /// @brief Transforms x (of length n) in place.
    void operator()(std::vector<Complex>& x) const {
        if (!m_inverse) {
            forward(x);
            return;
        }
        for (Complex& v : x) v = std::conj(v);
        forward(x);
        for (Complex& v : x) v = std::conj(v) / static_cast<double>(m_n);
    }

  private:
    void forward(std::vector<Complex>& x) const {
        if (m_chirp.empty()) {
            m_fft(x);
            return;
        }
        const int64_t m = m_fft.size();
        std::vector<Complex> a(static_cast<std::size_t>(m), 0.0);
        for (int64_t j = 0; j < m_n; ++j) a[j] = x[j] * m_chirp[j];
        m_fft(a);
        // The circular convolution is IFFT(A B) = conj(FFT(conj(A B))) / m.
        for (int64_t i = 0; i < m; ++i) a[i] = std::conj(a[i] * m_chirp_fft[i]);
        m_fft(a);
        for (int64_t k = 0; k < m_n; ++k)
            x[k] = m_chirp[k] * std::conj(a[k]) / static_cast<double>(m);
    }

    int64_t m_n;
    bool m_inverse;
    Radix2Fft m_fft;
    std::vector<Complex> m_chirp;      // c[k]; empty for a power of two
    std::vector<Complex> m_chirp_fft;  // FFT of the circular conj(c)
};

// ---- DFT ----------------------------------------------------------------------------------------

// DFT-17: 'axis' attribute (default 1), optional dft_length input. DFT-20: optional inputs
// dft_length and axis (default -2). The input is [batch, signal dims..., 1 or 2]; negative axes
// count from the back of the whole input, and the axis must be one of its signal axes (not the
// last). dft_length zero-pads or truncates the signal along the axis. onesided keeps the
// floor(n / 2) + 1 bins a real signal determines; the spec rules it out for complex input.
struct DftSpec {
    int64_t axis = 0;
    int64_t length = 0;
    bool inverse = false;
    bool onesided = false;
    Shape out_shape;
};

DftSpec dft_spec(const OpArgs& a) {
    const Shape& x = a.shape(0);
    const int64_t rank = static_cast<int64_t>(x.size());
    if (rank < 2 || (x.back() != 1 && x.back() != 2))
        fail(a.node, "input must be [batch, signal dims..., 1 or 2], got " + sim::shape_str(x));
    int64_t axis = 1;
    if (a.opset >= 20) {
        if (a.node.has_attr("axis"))
            fail(a.node, "'axis' is an input, not an attribute, from opset 20");
        axis = a.has(2) ? scalar_int(a, 2, "axis") : -2;
    } else {
        axis = a.node.attr_int("axis", 1);
    }
    DftSpec s;
    s.axis = axis < 0 ? axis + rank : axis;
    if (s.axis < 0 || s.axis > rank - 2)
        fail(a.node, "axis " + std::to_string(axis) + " is not a signal axis of input " +
                         sim::shape_str(x));
    s.length = a.has(1) ? scalar_int(a, 1, "dft_length") : x[s.axis];
    if (s.length < 1) fail(a.node, "the DFT length must be >= 1, got " + std::to_string(s.length));
    s.inverse = flag_attr(a.node, "inverse", 0);
    s.onesided = flag_attr(a.node, "onesided", 0);
    if (s.onesided && x.back() == 2)
        fail(a.node, "onesided output is not possible for complex input");
    if (s.onesided && s.inverse)
        throw sim::UnsupportedError(a.node.describe() +
                                    ": onesided=1 with inverse=1 is not supported");
    s.out_shape = x;
    s.out_shape[s.axis] = s.onesided ? s.length / 2 + 1 : s.length;
    s.out_shape.back() = 2;
    return s;
}

// The input as [outer, n, inner, parts] with the DFT along n; the output [outer, bins, inner, 2].
template <class T>
void dft_typed(const T* in, T* out, const Shape& x, const DftSpec& s) {
    const int64_t outer = dims_product(x, 0, s.axis);
    const int64_t n = x[s.axis];
    const int64_t inner = dims_product(x, s.axis + 1, x.size() - 1);
    const int64_t parts = x.back();
    const int64_t bins = s.out_shape[s.axis];
    const FourierTransform transform(s.length, s.inverse);
    std::vector<Complex> line(static_cast<std::size_t>(s.length));
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
            for (int64_t k = 0; k < s.length; ++k) {
                if (k >= n) {
                    line[k] = 0.0;
                    continue;
                }
                const T* v = in + ((o * n + k) * inner + i) * parts;
                line[k] = Complex(v[0], parts == 2 ? v[1] : T(0));
            }
            transform(line);
            for (int64_t k = 0; k < bins; ++k) {
                T* v = out + ((o * bins + k) * inner + i) * 2;
                v[0] = static_cast<T>(line[k].real());
                v[1] = static_cast<T>(line[k].imag());
            }
        }
    }
}

void infer_dft(InferContext& ctx) {
    ctx.set_output(0, ctx.in(0).dtype, dft_spec(args_of(ctx)).out_shape);
}

std::vector<Tensor> compute_dft(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const DftSpec s = dft_spec(args_of(ctx));
    Tensor y(x.dtype(), s.out_shape);
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        dft_typed<T>(x.data<T>(), y.data<T>(), x.shape(), s);
    });
    return {y};
}

XPUSIM_REGISTER_OP("DFT", OpKernel{infer_dft, compute_dft});

// ---- STFT ---------------------------------------------------------------------------------------

// STFT(signal [batch, length, 1 or 2], frame_step, window [L]?, frame_length?): frame f is the
// DFT of signal[f * frame_step, + L) times the window (1 without one), for the
// 1 + (length - L) / frame_step frames that fit. L is frame_length, else the window's length;
// when both are given they must agree. onesided (default 1) keeps L / 2 + 1 bins, and is ruled
// out for a complex signal.
struct StftSpec {
    int64_t step = 0;
    int64_t length = 0;
    bool onesided = true;
    Shape out_shape;
};

StftSpec stft_spec(const OpArgs& a) {
    const Shape& x = a.shape(0);
    if (x.size() != 3 || (x[2] != 1 && x[2] != 2))
        fail(a.node, "signal must be [batch, signal_length, 1 or 2], got " + sim::shape_str(x));
    StftSpec s;
    s.step = scalar_int(a, 1, "frame_step");
    if (s.step < 1) fail(a.node, "frame_step must be >= 1, got " + std::to_string(s.step));
    if (a.has(2)) {
        if (a.shape(2).size() != 1)
            fail(a.node, "window must have rank 1, got " + sim::shape_str(a.shape(2)));
        if (a.dtype(2) != a.dtype(0)) fail(a.node, "window must have the signal's element type");
    }
    if (a.has(3)) {
        s.length = scalar_int(a, 3, "frame_length");
        if (a.has(2) && a.shape(2)[0] != s.length)
            fail(a.node, "window length " + std::to_string(a.shape(2)[0]) +
                             " differs from frame_length " + std::to_string(s.length));
    } else if (a.has(2)) {
        s.length = a.shape(2)[0];
    } else {
        throw sim::UnsupportedError(a.node.describe() +
                                    ": neither window nor frame_length is given, so the frame "
                                    "length is not defined");
    }
    if (s.length < 1 || s.length > x[1])
        fail(a.node, "frame length " + std::to_string(s.length) + " must be in [1, " +
                         std::to_string(x[1]) + "] (the signal length)");
    s.onesided = flag_attr(a.node, "onesided", 1);
    if (s.onesided && x[2] == 2)
        fail(a.node, "onesided output is not possible for a complex signal (set onesided=0)");
    const int64_t frames = 1 + (x[1] - s.length) / s.step;
    s.out_shape = {x[0], frames, s.onesided ? s.length / 2 + 1 : s.length, 2};
    return s;
}

template <class T>
void stft_typed(const T* signal, const T* window, T* out, const Shape& x, const StftSpec& s) {
    const int64_t parts = x[2];
    const int64_t frames = s.out_shape[1];
    const int64_t bins = s.out_shape[2];
    const FourierTransform transform(s.length, false);
    std::vector<Complex> line(static_cast<std::size_t>(s.length));
    for (int64_t b = 0; b < x[0]; ++b) {
        for (int64_t f = 0; f < frames; ++f) {
            const T* frame = signal + (b * x[1] + f * s.step) * parts;
            for (int64_t k = 0; k < s.length; ++k) {
                const double w = window ? static_cast<double>(window[k]) : 1.0;
                line[k] = Complex(frame[k * parts], parts == 2 ? frame[k * parts + 1] : T(0)) * w;
            }
            transform(line);
            T* o = out + (b * frames + f) * bins * 2;
            for (int64_t k = 0; k < bins; ++k) {
                o[2 * k] = static_cast<T>(line[k].real());
                o[2 * k + 1] = static_cast<T>(line[k].imag());
            }
        }
    }
}

void infer_stft(InferContext& ctx) {
    ctx.set_output(0, ctx.in(0).dtype, stft_spec(args_of(ctx)).out_shape);
}

std::vector<Tensor> compute_stft(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const StftSpec s = stft_spec(args_of(ctx));
    Tensor y(x.dtype(), s.out_shape);
    dispatch_float(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        const T* window = ctx.has(2) ? ctx.in(2).data<T>() : nullptr;
        stft_typed<T>(x.data<T>(), window, y.data<T>(), x.shape(), s);
    });
    return {y};
}

XPUSIM_REGISTER_OP("STFT", OpKernel{infer_stft, compute_stft});

// ---- MelWeightMatrix ----------------------------------------------------------------------------

// MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz):
// [dft_length / 2 + 1, num_mel_bins] triangular filters of peak 1, as the ONNX reference and ONNX
// Runtime build them. With mel(f) = 2595 log10(1 + f / 700), num_mel_bins + 2 points are spaced
// (mel(upper) - mel(lower)) / (num_mel_bins + 2) apart from mel(lower); point p maps to the
// spectrogram bin floor((dft_length + 1) hz(p) / sample_rate). Filter i rises from bin b[i] to
// 1 at b[i + 1] and falls to 0 at b[i + 2].
Shape mel_shape(const OpArgs& a) {
    const int64_t mel_bins = scalar_int(a, 0, "num_mel_bins");
    const int64_t dft_length = scalar_int(a, 1, "dft_length");
    if (mel_bins < 1 || dft_length < 1)
        fail(a.node, "num_mel_bins and dft_length must be >= 1, got " + std::to_string(mel_bins) +
                         " and " + std::to_string(dft_length));
    return {dft_length / 2 + 1, mel_bins};
}

Tensor mel_weight_matrix(const OpArgs& a) {
    const Shape shape = mel_shape(a);
    const int64_t spectrogram_bins = shape[0];
    const int64_t mel_bins = shape[1];
    const double dft_length = static_cast<double>(scalar_int(a, 1, "dft_length"));
    const int64_t sample_rate = scalar_int(a, 2, "sample_rate");
    if (sample_rate < 1)
        fail(a.node, "sample_rate must be >= 1, got " + std::to_string(sample_rate));
    const double lower = scalar_float(a, 3, "lower_edge_hertz");
    const double upper = scalar_float(a, 4, "upper_edge_hertz");
    if (!(lower <= upper))
        fail(a.node, "upper_edge_hertz " + std::to_string(upper) + " is below lower_edge_hertz " +
                         std::to_string(lower));
    const auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
    const double low_mel = mel(lower);
    const double mel_step = (mel(upper) - low_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> bin(static_cast<std::size_t>(mel_bins + 2));
    for (int64_t p = 0; p < mel_bins + 2; ++p) {
        const double hz = 700.0 * (std::pow(10.0, (low_mel + mel_step * p) / 2595.0) - 1.0);
        const double b = std::floor((dft_length + 1) * hz / static_cast<double>(sample_rate));
        if (!(b >= 0 && b < static_cast<double>(spectrogram_bins)))
            fail(a.node, "the edges [" + std::to_string(lower) + ", " + std::to_string(upper) +
                             "] Hz fall outside the " + std::to_string(spectrogram_bins) +
                             " spectrogram bins of dft_length " +
                             std::to_string(static_cast<int64_t>(dft_length)) + " at sample_rate " +
                             std::to_string(sample_rate));
        bin[p] = static_cast<int64_t>(b);
    }
    Tensor w(DType::Float64, shape);
    double* out = w.data<double>();
    for (int64_t i = 0; i < mel_bins; ++i) {
        const int64_t left = bin[i], center = bin[i + 1], right = bin[i + 2];
        for (int64_t j = left; j < center; ++j)
            out[j * mel_bins + i] =
                static_cast<double>(j - left) / static_cast<double>(center - left);
        out[center * mel_bins + i] = 1.0;
        for (int64_t j = center + 1; j < right; ++j)
            out[j * mel_bins + i] =
                static_cast<double>(right - j) / static_cast<double>(right - center);
    }
    return w;
}

void infer_mel(InferContext& ctx) {
    ctx.set_output(0, output_datatype(ctx.node), mel_shape(args_of(ctx)));
}

std::vector<Tensor> compute_mel(const KernelContext& ctx) {
    return {mel_weight_matrix(args_of(ctx)).cast(output_datatype(ctx.node))};
}

XPUSIM_REGISTER_OP("MelWeightMatrix", OpKernel{infer_mel, compute_mel, /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
