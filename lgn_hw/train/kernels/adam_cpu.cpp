// One-pass Adam step for CPU float32/float64 tensors, bit-identical to torch.optim.Adam's
// default (single-tensor, foreach=False) update with amsgrad=False, maximize=False and
// weight_decay=0 (lgn_hw/train/optim.py runs weight decay as torch's op first), which
// runs these ops, each rounding to the parameter dtype:
//
//   exp_avg.lerp_(grad, 1 - beta1)              m = fma(w, g - m, m)      (w = 1 - beta1 < 0.5)
//   exp_avg_sq.mul_(beta2)                      v = v * beta2
//             .addcmul_(grad, grad, 1 - beta2)  v = fma(c * g, g, v)
//   denom = (exp_avg_sq.sqrt() / bc2_sqrt)      d = sqrt(v) / bc2_sqrt    (ATen's sqrt)
//           .add_(eps)                          d = d + eps
//   param.addcdiv_(exp_avg, denom, -step_size)  p = p + (s * m) / d
//
// The fmas are the ones ATen's CPU kernels compute; everything else rounds every op, so
// this file is built without floating-point contraction. ATen's vectorised sqrt is not
// the correctly rounded one: each block calls it (at::sqrt_out, elementwise, the same
// wherever a block starts). Python scalars are rounded to the dtype as ATen rounds them.
// One pass over the four tensors instead of eight, and no temporaries the size of the
// parameter; elementwise, so the result does not depend on the thread count.

#pragma GCC optimize("fp-contract=off")

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace lgn_adam {

template <typename T>
static inline void moments(const T* g, T* m, T* v, int64_t i0, int64_t i1, T w, bool small, T beta2, T c) {
  for (int64_t i = i0; i < i1; ++i) {
    const T gi = g[i];
    const T mi = m[i];
    m[i] = small ? std::fma(w, gi - mi, mi) : std::fma(w - T(1), gi - mi, gi);
    v[i] = std::fma(c * gi, gi, v[i] * beta2);
  }
}

template <typename T>
static inline void update(T* p, const T* m, const T* root, int64_t i0, int64_t i1, T bc2_sqrt, T eps, T s) {
  for (int64_t i = i0; i < i1; ++i) {
    T d = root[i - i0] / bc2_sqrt;
    d = d + eps;
    p[i] = p[i] + (s * m[i]) / d;
  }
}

// The float moments where the CPU has FMA: std::fma is then an instruction, not a libm call.
__attribute__((target("avx2,fma"))) static void moments_fma(const float* g, float* m, float* v, int64_t i0,
                                                            int64_t i1, float w, bool small, float beta2,
                                                            float c) {
  moments<float>(g, m, v, i0, i1, w, small, beta2, c);
}

static void run_moments(bool fma_hw, const float* g, float* m, float* v, int64_t i0, int64_t i1, float w,
                        bool small, float beta2, float c) {
  if (fma_hw) {
    moments_fma(g, m, v, i0, i1, w, small, beta2, c);
  } else {
    moments<float>(g, m, v, i0, i1, w, small, beta2, c);
  }
}

static void run_moments(bool, const double* g, double* m, double* v, int64_t i0, int64_t i1, double w,
                        bool small, double beta2, double c) {
  moments<double>(g, m, v, i0, i1, w, small, beta2, c);
}

void adam_step(at::Tensor param, at::Tensor grad, at::Tensor exp_avg, at::Tensor exp_avg_sq,
               double one_minus_beta1, double beta2, double one_minus_beta2, double bc2_sqrt,
               double eps, double neg_step_size) {
  TORCH_CHECK(param.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() &&
              exp_avg_sq.is_contiguous(), "adam_step needs contiguous tensors");
  const int64_t n = param.numel();
  TORCH_CHECK(grad.numel() == n && exp_avg.numel() == n && exp_avg_sq.numel() == n, "adam_step: sizes differ");
  TORCH_CHECK(grad.scalar_type() == param.scalar_type() && exp_avg.scalar_type() == param.scalar_type() &&
              exp_avg_sq.scalar_type() == param.scalar_type(), "adam_step: dtypes differ");
  AT_DISPATCH_FLOATING_TYPES(param.scalar_type(), "adam_step", [&] {
    using T = scalar_t;
    T* p = param.data_ptr<T>();
    const T* g = grad.data_ptr<T>();
    T* m = exp_avg.data_ptr<T>();
    T* v = exp_avg_sq.data_ptr<T>();
    const T w = static_cast<T>(one_minus_beta1);
    const bool small = std::abs(w) < T(0.5);
    const T b2 = static_cast<T>(beta2), c = static_cast<T>(one_minus_beta2);
    const T bc = static_cast<T>(bc2_sqrt), e = static_cast<T>(eps), s = static_cast<T>(neg_step_size);
    const bool fma_hw = __builtin_cpu_supports("fma");
    constexpr int64_t block = 16384;
    at::parallel_for(0, n, block, [&](int64_t r0, int64_t r1) {
      std::vector<T> root(static_cast<size_t>(std::min(block, r1 - r0)));
      for (int64_t i0 = r0; i0 < r1; i0 += block) {
        const int64_t i1 = std::min(r1, i0 + block);
        run_moments(fma_hw, g, m, v, i0, i1, w, small, b2, c);
        at::Tensor out = at::from_blob(root.data(), {i1 - i0}, exp_avg_sq.options());
        at::sqrt_out(out, at::from_blob(v + i0, {i1 - i0}, exp_avg_sq.options()));
        update<T>(p, m, root.data(), i0, i1, bc, e, s);
      }
    });
  });
}

}  // namespace lgn_adam
