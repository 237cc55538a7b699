// Fused CPU logic op and LUT op for lgn-hw (built on first use by cpu_op.py).
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
//
// LUT op (k = 2..6 inputs, E = 2^k table values p per node, entry index j with
// input 0 as its most significant bit): y is the multilinear interpolation of
// the table at the node's inputs, evaluated as a mux tree. Level 0 muxes entry
// pairs (2m, 2m+1) by input k-1, level l muxes level l-1's pairs by input k-1-l:
//   v = lo + x (hi - lo),  E - 1 muxes per sample.
// Backward runs the tree forward again (storing every level) and then the
// adjoints down from the root: d lo = (1 - x) d v, d hi = x d v, d x += (hi - lo) d v;
// the leaves' adjoints are the table gradients. Same threading as the logic op.

#include <ATen/ATen.h>
#include <torch/csrc/utils/pybind.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <tuple>
#include <utility>
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

// The backward passes' batch split, after checking the upstream gradient gyt (out_dim, batch):
// chunks of whole cache lines (16 floats), at most one per thread.
// Returns (samples per chunk, number of chunks).
std::pair<int64_t, int64_t> batch_chunks(const at::Tensor& gyt, const at::Tensor& xt, int64_t out_dim) {
  const int64_t batch = xt.size(1);
  TORCH_CHECK(gyt.is_contiguous() && gyt.size(0) == out_dim && gyt.size(1) == batch,
              "grad must be a contiguous (out_dim, batch) tensor");
  TORCH_CHECK(gyt.scalar_type() == xt.scalar_type(), "grad and xt must have the same dtype");
  const int64_t lines = (batch + 15) / 16;
  const int64_t nchunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), lines));
  return {std::max<int64_t>(1, (lines + nchunks - 1) / nchunks) * 16, nchunks};
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
  int64_t chunk, nchunks;
  std::tie(chunk, nchunks) = batch_chunks(gyt, xt, out_dim);
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

// ---- LUT op ----------------------------------------------------------------------------------

constexpr int64_t kLutChunk = 32;  // samples per mux-tree pass (buffers stay in L1)

// The mux tree of one node for samples b0 .. b0+n-1, keeping every level: level l (input
// k-1-l) holds E >> (l + 1) values at offset E - (E >> l) of `lev`; the root is lev[E - 2].
template <typename T, int K>
inline void lut_tree(const T* const* x, const T* tab, int64_t b0, int64_t n, T (*lev)[kLutChunk]) {
  constexpr int E = 1 << K;
  const T* xl = x[K - 1] + b0;
  for (int m = 0; m < E / 2; ++m) {
    const T lo = tab[2 * m], d = tab[2 * m + 1] - tab[2 * m];
#pragma omp simd
    for (int64_t b = 0; b < n; ++b) lev[m][b] = lo + xl[b] * d;
  }
  for (int l = 1; l < K; ++l) {
    xl = x[K - 1 - l] + b0;
    T(*below)[kLutChunk] = lev + (E - (E >> (l - 1)));
    T(*here)[kLutChunk] = lev + (E - (E >> l));
    for (int m = 0; m < (E >> (l + 1)); ++m) {
#pragma omp simd
      for (int64_t b = 0; b < n; ++b) here[m][b] = below[2 * m][b] + xl[b] * (below[2 * m + 1][b] - below[2 * m][b]);
    }
  }
}

template <typename T, int K>
void lut_forward_impl(const T* xt, const int64_t* idx, const T* p, T* yt, int64_t batch,
                      int64_t out_dim) {
  constexpr int E = 1 << K;
  const int64_t grain = std::max<int64_t>(1, 65536 / (std::max<int64_t>(batch, 1) * E));
  at::parallel_for(0, out_dim, grain, [&](int64_t j0, int64_t j1) {
    T lev[E][kLutChunk];
    for (int64_t j = j0; j < j1; ++j) {
      const T* x[K];
      for (int i = 0; i < K; ++i) x[i] = xt + idx[j * K + i] * batch;
      T* y = yt + j * batch;
      for (int64_t b0 = 0; b0 < batch; b0 += kLutChunk) {
        const int64_t n = std::min(kLutChunk, batch - b0);
        lut_tree<T, K>(x, p + j * E, b0, n, lev);
#pragma omp simd
        for (int64_t b = 0; b < n; ++b) y[b0 + b] = lev[E - 2][b];
      }
    }
  });
}

template <typename T, int K>
void lut_backward_impl(const T* gyt, const T* xt, const int64_t* idx, const T* p, T* gxt,
                       T* gp_parts, int64_t batch, int64_t out_dim, int64_t chunk, int64_t nchunks) {
  constexpr int E = 1 << K;
  at::parallel_for(0, nchunks, 1, [&](int64_t t0, int64_t t1) {
    T lev[E][kLutChunk];
    T adj[E / 2][kLutChunk];
    T gsum[kLutChunk];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t k0 = t * chunk;
      const int64_t k1 = std::min(batch, k0 + chunk);
      T* part = gp_parts == nullptr ? nullptr : gp_parts + t * out_dim * E;
      for (int64_t j = 0; j < out_dim; ++j) {
        const T* x[K];
        for (int i = 0; i < K; ++i) x[i] = xt + idx[j * K + i] * batch;
        const T* tab = p + j * E;
        const T* g = gyt + j * batch;
        T gp[E];
        for (int e = 0; e < E; ++e) gp[e] = 0;
        for (int64_t b0 = k0; b0 < k1; b0 += kLutChunk) {
          const int64_t n = std::min(kLutChunk, k1 - b0);
          lut_tree<T, K>(x, tab, b0, n, lev);
          // adjoints from the root (level K-1, input 0) down to level 0 (input K-1)
#pragma omp simd
          for (int64_t b = 0; b < n; ++b) adj[0][b] = g[b0 + b];
          for (int l = K - 1; l >= 0; --l) {
            const int i = K - 1 - l;
            const T* xl = x[i] + b0;
#pragma omp simd
            for (int64_t b = 0; b < n; ++b) gsum[b] = 0;
            if (l > 0) {
              T(*below)[kLutChunk] = lev + (E - (E >> (l - 1)));
              for (int m = (E >> (l + 1)) - 1; m >= 0; --m) {  // descending: in place
#pragma omp simd
                for (int64_t b = 0; b < n; ++b) {
                  const T a = adj[m][b];
                  gsum[b] += a * (below[2 * m + 1][b] - below[2 * m][b]);
                  adj[2 * m + 1][b] = a * xl[b];
                  adj[2 * m][b] = a - a * xl[b];
                }
              }
            } else {
              for (int m = 0; m < E / 2; ++m) {
                const T d = tab[2 * m + 1] - tab[2 * m];
                T s_hi = 0, s_lo = 0;
#pragma omp simd reduction(+ : s_hi, s_lo)
                for (int64_t b = 0; b < n; ++b) {
                  const T a = adj[m][b];
                  gsum[b] += a * d;
                  s_hi += a * xl[b];
                  s_lo += a - a * xl[b];
                }
                gp[2 * m] += s_lo;
                gp[2 * m + 1] += s_hi;
              }
            }
            if (gxt != nullptr) {
              T* dx = gxt + idx[j * K + i] * batch + b0;
#pragma omp simd
              for (int64_t b = 0; b < n; ++b) dx[b] += gsum[b];
            }
          }
        }
        if (part != nullptr) {
          for (int e = 0; e < E; ++e) part[j * E + e] = gp[e];
        }
      }
    }
  });
}

void check_lut_args(const at::Tensor& xt, const at::Tensor& idx, const at::Tensor& p) {
  TORCH_CHECK(xt.dim() == 2 && xt.is_contiguous(), "xt must be a contiguous 2-D tensor");
  TORCH_CHECK(idx.dtype() == at::kLong && idx.is_contiguous() && idx.dim() == 2, "idx must be contiguous 2-D int64");
  TORCH_CHECK(idx.size(1) >= 2 && idx.size(1) <= 6, "a LUT node has 2..6 inputs");
  TORCH_CHECK(p.is_contiguous() && p.dim() == 2 && p.size(0) == idx.size(0) && p.size(1) == (1 << idx.size(1)),
              "p must be contiguous (out_dim, 2^k)");
  TORCH_CHECK(p.scalar_type() == xt.scalar_type(), "p and xt must have the same dtype");
}

// Calls f(std::integral_constant<int, K>{}) for K = k, so that the mux tree unrolls.
template <typename F>
void dispatch_k(int64_t k, F&& f) {
  switch (k) {
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    default: f(std::integral_constant<int, 6>{}); break;
  }
}

// xt (in_dim, batch) -> y (batch, out_dim), stored feature-major.
at::Tensor lut_forward(at::Tensor xt, at::Tensor idx, at::Tensor p) {
  check_lut_args(xt, idx, p);
  const int64_t batch = xt.size(1);
  const int64_t out_dim = p.size(0);
  const int64_t k = idx.size(1);
  auto y = feature_major(batch, out_dim, xt, false);
  auto yt = y.t();
  AT_DISPATCH_FLOATING_TYPES(xt.scalar_type(), "lgn_lut_op_forward", [&] {
    dispatch_k(k, [&](auto kc) {
      lut_forward_impl<scalar_t, decltype(kc)::value>(xt.data_ptr<scalar_t>(), idx.data_ptr<int64_t>(),
                                                      p.data_ptr<scalar_t>(), yt.data_ptr<scalar_t>(),
                                                      batch, out_dim);
    });
  });
  return y;
}

// Returns (grad_x (batch, in_dim) stored feature-major, or undefined;
//          grad_p (out_dim, 2^k), or undefined).
std::vector<at::Tensor> lut_backward(at::Tensor gyt, at::Tensor xt, at::Tensor idx, at::Tensor p,
                                     bool need_x, bool need_p) {
  check_lut_args(xt, idx, p);
  const int64_t batch = xt.size(1);
  const int64_t out_dim = p.size(0);
  const int64_t k = idx.size(1);
  int64_t chunk, nchunks;
  std::tie(chunk, nchunks) = batch_chunks(gyt, xt, out_dim);
  at::Tensor gx = need_x ? feature_major(batch, xt.size(0), xt, true) : at::Tensor();
  at::Tensor gxt = need_x ? gx.t() : at::Tensor();
  at::Tensor parts = need_p ? at::zeros({nchunks, out_dim, p.size(1)}, xt.options()) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(xt.scalar_type(), "lgn_lut_op_backward", [&] {
    dispatch_k(k, [&](auto kc) {
      lut_backward_impl<scalar_t, decltype(kc)::value>(
          gyt.data_ptr<scalar_t>(), xt.data_ptr<scalar_t>(), idx.data_ptr<int64_t>(), p.data_ptr<scalar_t>(),
          need_x ? gxt.data_ptr<scalar_t>() : nullptr, need_p ? parts.data_ptr<scalar_t>() : nullptr, batch,
          out_dim, chunk, nchunks);
    });
  });
  at::Tensor gp = need_p ? parts.sum(0) : at::Tensor();
  return {gx, gp};
}

// The backward of a gather of columns (learned connections' slot choice, y = x[:, idx]):
// gx[:, idx[s]] += gy[:, s] for every slot s, in slot order. Feature-major: gyt is
// (slots, batch), the result (batch, in_dim) feature-major. Each thread owns the columns
// of its batch chunk, so every sum runs in slot order whatever the threads: deterministic,
// unlike ATen's accumulating index_put_, which adds with atomics from several threads.
at::Tensor slot_scatter(at::Tensor gyt, at::Tensor idx, int64_t in_dim) {
  TORCH_CHECK(gyt.dim() == 2 && gyt.is_contiguous(), "grad must be a contiguous (slots, batch) tensor");
  TORCH_CHECK(idx.dim() == 1 && idx.scalar_type() == at::kLong && idx.is_contiguous() &&
              idx.size(0) == gyt.size(0), "idx must be a contiguous int64 tensor with one entry per slot");
  const int64_t slots = gyt.size(0), batch = gyt.size(1);
  at::Tensor gx = feature_major(batch, in_dim, gyt, true);
  if (slots == 0 || batch == 0) return gx;
  const int64_t* ix = idx.data_ptr<int64_t>();
  for (int64_t s = 0; s < slots; ++s) {
    TORCH_CHECK(ix[s] >= 0 && ix[s] < in_dim, "slot index out of range: ", ix[s]);
  }
  const int64_t lines = (batch + 15) / 16;
  const int64_t nchunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), lines));
  const int64_t chunk = std::max<int64_t>(1, (lines + nchunks - 1) / nchunks) * 16;
  AT_DISPATCH_FLOATING_TYPES(gyt.scalar_type(), "slot_scatter", [&] {
    const scalar_t* g = gyt.data_ptr<scalar_t>();
    scalar_t* gxt = gx.data_ptr<scalar_t>();  // (in_dim, batch) contiguous
    at::parallel_for(0, nchunks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t k0 = t * chunk, k1 = std::min(batch, k0 + chunk);
        for (int64_t s = 0; s < slots; ++s) {
          scalar_t* __restrict row = gxt + ix[s] * batch;
          const scalar_t* __restrict src = g + s * batch;
          for (int64_t k = k0; k < k1; ++k) row[k] += src[k];
        }
      }
    });
  });
  return gx;
}

}  // namespace

namespace lgn_adam {  // adam_cpu.cpp
void adam_step(at::Tensor param, at::Tensor grad, at::Tensor exp_avg, at::Tensor exp_avg_sq,
               double one_minus_beta1, double beta2, double one_minus_beta2, double bc2_sqrt,
               double eps, double neg_step_size);
}  // namespace lgn_adam

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "lgn-hw logic op forward (feature-major)");
  m.def("backward", &backward, "lgn-hw logic op backward (feature-major)");
  m.def("lut_forward", &lut_forward, "lgn-hw LUT op forward (feature-major)");
  m.def("lut_backward", &lut_backward, "lgn-hw LUT op backward (feature-major)");
  m.def("slot_scatter", &slot_scatter, "backward of a column gather, deterministic (feature-major)");
  m.def("adam_step", &lgn_adam::adam_step, "one-pass Adam step, bit-identical to torch.optim.Adam");
}
