// Fused CPU logic op for lgn-hw (built on first use by cpu_op.py).
//
// Layout: feature-major. xt is (in_dim, batch) and yt is (out_dim, batch),
// both contiguous, so each neuron reads two contiguous input rows and writes
// one contiguous output row: the inner loop over the batch vectorizes.
//
//   y[j, k] = c0 + c1 a + c2 b + c3 a b,  a = xt[idx_a[j], k], b = xt[idx_b[j], k]
//
// Backward is one pass parallel over batch chunks: each thread owns the
// columns of its chunk in grad_xt (so the scatter-add over neurons is
// race-free) and accumulates partial coefficient gradients, summed at the end.

#include <ATen/ATen.h>
#include <torch/csrc/utils/pybind.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace {

template <typename T>
void forward_impl(const T* xt, const int64_t* ia, const int64_t* ib, const T* coef,
                  T* yt, int64_t batch, int64_t out_dim) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(batch, 1));
  at::parallel_for(0, out_dim, grain, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const T* a = xt + ia[j] * batch;
      const T* b = xt + ib[j] * batch;
      const T c0 = coef[4 * j], c1 = coef[4 * j + 1], c2 = coef[4 * j + 2], c3 = coef[4 * j + 3];
      T* y = yt + j * batch;
#pragma omp simd
      for (int64_t k = 0; k < batch; ++k) {
        y[k] = c0 + c1 * a[k] + (c2 + c3 * a[k]) * b[k];
      }
    }
  });
}

template <typename T>
void backward_impl(const T* gyt, const T* xt, const int64_t* ia, const int64_t* ib,
                   const T* coef, T* gxt, T* gcoef_parts, int64_t batch, int64_t out_dim,
                   int64_t chunk, int64_t nchunks) {
  at::parallel_for(0, nchunks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t k0 = t * chunk;
      const int64_t k1 = std::min(batch, k0 + chunk);
      T* part = gcoef_parts == nullptr ? nullptr : gcoef_parts + t * out_dim * 4;
      for (int64_t j = 0; j < out_dim; ++j) {
        const T* a = xt + ia[j] * batch;
        const T* b = xt + ib[j] * batch;
        const T* g = gyt + j * batch;
        if (part != nullptr) {
          T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
          for (int64_t k = k0; k < k1; ++k) {
            const T ga = g[k] * a[k];
            s0 += g[k];
            s1 += ga;
            s2 += g[k] * b[k];
            s3 += ga * b[k];
          }
          part[4 * j] = s0;
          part[4 * j + 1] = s1;
          part[4 * j + 2] = s2;
          part[4 * j + 3] = s3;
        }
        if (gxt != nullptr) {
          const T c1 = coef[4 * j + 1], c2 = coef[4 * j + 2], c3 = coef[4 * j + 3];
          T* da = gxt + ia[j] * batch;
          T* db = gxt + ib[j] * batch;
          if (ia[j] == ib[j]) {
            // y = c0 + (c1 + c2) a + c3 a^2
#pragma omp simd
            for (int64_t k = k0; k < k1; ++k) {
              da[k] += g[k] * (c1 + c2 + 2 * c3 * a[k]);
            }
          } else {
#pragma omp simd
            for (int64_t k = k0; k < k1; ++k) {
              da[k] += g[k] * (c1 + c3 * b[k]);
              db[k] += g[k] * (c2 + c3 * a[k]);
            }
          }
        }
      }
    }
  });
}

void check_args(const at::Tensor& xt, const at::Tensor& ia, const at::Tensor& ib,
                const at::Tensor& coef) {
  TORCH_CHECK(xt.dim() == 2 && xt.is_contiguous(), "xt must be a contiguous 2-D tensor");
  TORCH_CHECK(ia.dtype() == at::kLong && ia.is_contiguous() && ia.dim() == 1, "idx_a must be contiguous int64");
  TORCH_CHECK(ib.dtype() == at::kLong && ib.is_contiguous() && ib.dim() == 1, "idx_b must be contiguous int64");
  TORCH_CHECK(coef.is_contiguous() && coef.dim() == 2 && coef.size(1) == 4, "coef must be contiguous (out_dim, 4)");
  TORCH_CHECK(coef.scalar_type() == xt.scalar_type(), "coef and xt must have the same dtype");
  TORCH_CHECK(ia.size(0) == coef.size(0) && ib.size(0) == coef.size(0), "index and coef lengths differ");
}

// A (rows, cols) tensor stored feature-major (strides (1, rows)); not a view,
// so callers may modify it in place.
at::Tensor feature_major(int64_t rows, int64_t cols, const at::Tensor& like, bool zero) {
  auto t = at::empty_strided({rows, cols}, {1, std::max<int64_t>(rows, 1)}, like.options());
  return zero ? t.zero_() : t;
}

// xt (in_dim, batch) -> y (batch, out_dim), stored feature-major.
at::Tensor forward(at::Tensor xt, at::Tensor ia, at::Tensor ib, at::Tensor coef) {
  check_args(xt, ia, ib, coef);
  const int64_t batch = xt.size(1);
  const int64_t out_dim = coef.size(0);
  auto y = feature_major(batch, out_dim, xt, false);
  auto yt = y.t();
  AT_DISPATCH_FLOATING_TYPES(xt.scalar_type(), "lgn_logic_op_forward", [&] {
    forward_impl<scalar_t>(xt.data_ptr<scalar_t>(), ia.data_ptr<int64_t>(), ib.data_ptr<int64_t>(),
                           coef.data_ptr<scalar_t>(), yt.data_ptr<scalar_t>(), batch, out_dim);
  });
  return y;
}

// Returns (grad_x (batch, in_dim) stored feature-major, or undefined;
//          grad_coef (out_dim, 4), or undefined).
std::vector<at::Tensor> backward(at::Tensor gyt, at::Tensor xt, at::Tensor ia,
                                    at::Tensor ib, at::Tensor coef, bool need_x,
                                    bool need_coef) {
  check_args(xt, ia, ib, coef);
  const int64_t batch = xt.size(1);
  const int64_t out_dim = coef.size(0);
  TORCH_CHECK(gyt.is_contiguous() && gyt.size(0) == out_dim && gyt.size(1) == batch,
              "grad must be a contiguous (out_dim, batch) tensor");
  TORCH_CHECK(gyt.scalar_type() == xt.scalar_type(), "grad and xt must have the same dtype");
  // Chunks of whole cache lines (16 floats), at most one per thread.
  const int64_t lines = (batch + 15) / 16;
  const int64_t nchunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), lines));
  const int64_t chunk = std::max<int64_t>(1, (lines + nchunks - 1) / nchunks) * 16;
  at::Tensor gx = need_x ? feature_major(batch, xt.size(0), xt, true) : at::Tensor();
  at::Tensor gxt = need_x ? gx.t() : at::Tensor();
  at::Tensor parts = need_coef ? at::empty({nchunks, out_dim, 4}, xt.options()) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(xt.scalar_type(), "lgn_logic_op_backward", [&] {
    backward_impl<scalar_t>(gyt.data_ptr<scalar_t>(), xt.data_ptr<scalar_t>(), ia.data_ptr<int64_t>(),
                            ib.data_ptr<int64_t>(), coef.data_ptr<scalar_t>(),
                            need_x ? gxt.data_ptr<scalar_t>() : nullptr,
                            need_coef ? parts.data_ptr<scalar_t>() : nullptr, batch, out_dim, chunk,
                            nchunks);
  });
  at::Tensor gcoef = need_coef ? parts.sum(0) : at::Tensor();
  return {gx, gcoef};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "lgn-hw logic op forward (feature-major)");
  m.def("backward", &backward, "lgn-hw logic op backward (feature-major)");
}
