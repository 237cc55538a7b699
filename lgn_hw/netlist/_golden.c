/* Bit-parallel golden-model kernel of lgn-hw (see golden.py, which compiles and loads it).
 *
 * GENERIC: the netlist is data (index arrays a/b and op codes per gate, passed in), and
 * so is the gate table: the caller passes lgn_hw.gates.ANF (16 x 4 GF(2) coefficients)
 * and every gate computes  k0 ^ (k1 & a) ^ (k2 & b) ^ (k3 & a & b)  with those masks.
 *
 * A k-input LUT node (table T of 2^k bits, entry j = sum x_i << (k-1-i) at bit 2^k-1-j)
 * is a mux tree: the 4-bit nibble of T holding entries 4g..4g+3 is the gate op of the
 * node's last two inputs (x_{k-2}, x_{k-1}) when the others spell g, so each of the
 * 2^(k-2) leaves is one gate (the same ANF masks; for k >= 5 all 16 functions of the
 * two inputs are made once per node from the ANF monomials and the leaves pick theirs),
 * and k-2 levels of muxes lo ^ (x_i & (lo ^ hi)) over x_{k-3} .. x_0 select among them.
 *
 * Samples are processed in blocks of LGN_B = 64 * LGN_W: a wire of the block is LGN_W
 * 64-bit words (one SIMD vector through GCC vector extensions), bit j of word w being
 * sample 64 * w + j. Per block: transpose-pack the 0/1 input bytes, run the layers between
 * two buffers (a layer of a few thousand gates stays in L2), count each class's outputs
 * with a bit-sliced carry-save adder, then unpack the counts and take the argmax
 * (ties -> lowest class index). Threads are the caller's business: it calls
 * lgn_golden_eval on disjoint sample ranges concurrently (no global state here).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef LGN_W
#define LGN_W 4
#endif
#define LGN_B (64 * LGN_W)
#define LGN_ABI 2

typedef uint64_t vw __attribute__((vector_size(8 * LGN_W)));  /* one wire of a block */
typedef uint64_t v4 __attribute__((vector_size(32)));         /* 32 input bytes */
typedef uint32_t v8 __attribute__((vector_size(32)));         /* 8 sample scores */

int lgn_golden_abi(void) { return LGN_ABI; }
int lgn_golden_block(void) { return LGN_B; }

static inline v4 load32(const uint8_t *p) { v4 v; memcpy(&v, p, sizeof v); return v; }

/* Transpose 8 rows x 32 columns of 0/1 bytes: byte t of the result holds column c0 + t,
 * bit j being row j. Bytes are shifted inside 64-bit lanes, which is exact for 0/1 values
 * (anything else is caught through *acc and reported as an error, so garbage is fine). */
static inline void pack8x32(const uint8_t *const p[8], int64_t c0, int g, uint8_t *out,
                            v4 *acc)
{
    v4 x0 = load32(p[0] + c0), x1 = load32(p[1] + c0), x2 = load32(p[2] + c0),
       x3 = load32(p[3] + c0), x4 = load32(p[4] + c0), x5 = load32(p[5] + c0),
       x6 = load32(p[6] + c0), x7 = load32(p[7] + c0);
    *acc |= x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7;
    v4 v = x0 | (x1 << 1) | (x2 << 2) | (x3 << 3) | (x4 << 4) | (x5 << 5) | (x6 << 6) | (x7 << 7);
    uint8_t t8[32];
    memcpy(t8, &v, sizeof t8);
    uint8_t *o = out + c0 * (8 * LGN_W) + g;
    for (int t = 0; t < 32; t++) o[t * (8 * LGN_W)] = t8[t];
}

/* Pack `rows` (<= LGN_B) rows of `ni` bytes into in[i * LGN_W + w]; rows past `rows` are 0.
 * `pad` is scratch of 8 * ni32 bytes (ni32 = ni rounded up to 32). Returns nonzero if a
 * byte other than 0 or 1 was read. */
static int pack_block(const uint8_t *bits, int64_t stride, int64_t rows, int64_t ni,
                      int64_t ni32, uint8_t *pad, uint64_t *in)
{
    uint8_t *out = (uint8_t *)in;   /* byte i * 8W + g = samples 8g..8g+7 of input i */
    v4 acc = {0, 0, 0, 0};
    int padded = 0;
    for (int g = 0; g < LGN_B / 8; g++) {
        int64_t r0 = 8 * (int64_t)g;
        const uint8_t *p[8];
        int64_t cols;
        if (r0 + 8 <= rows && ni >= 32) {
            for (int j = 0; j < 8; j++) p[j] = bits + (r0 + j) * stride;
            cols = ni;
        } else {
            /* Short group or narrow input: copy into zero-padded scratch rows. */
            if (!padded) { memset(pad, 0, 8 * ni32); padded = 1; }
            for (int j = 0; j < 8; j++) {
                p[j] = pad + j * ni32;
                if (r0 + j < rows) memcpy(pad + j * ni32, bits + (r0 + j) * stride, ni);
                else memset(pad + j * ni32, 0, ni);   /* columns ni..ni32 stay 0 */
            }
            cols = ni32;
        }
        int64_t c = 0;
        for (; c + 32 <= cols; c += 32) pack8x32(p, c, g, out, &acc);
        if (c < cols) pack8x32(p, cols - 32, g, out, &acc);  /* overlapping last chunk */
    }
    uint64_t a = acc[0] | acc[1] | acc[2] | acc[3];
    return (a & 0xFEFEFEFEFEFEFEFEull) != 0;
}

/* One layer: dst[g] = ANF(op[g])(src[a[g]], src[b[g]]) with the masks of tbl. */
static void run_layer(const vw *restrict src, vw *restrict dst, int64_t width,
                      const int32_t *restrict a, const int32_t *restrict b,
                      const uint8_t *restrict op, const vw (*restrict tbl)[4])
{
    for (int64_t g = 0; g < width; g++) {
        vw x = src[a[g]], y = src[b[g]];
        const vw *m = tbl[op[g]];
        dst[g] = m[0] ^ (x & (m[1] ^ (m[3] & y))) ^ (m[2] & y);   /* = k0 ^ k1 x ^ k2 y ^ k3 x y */
    }
}

/* One LUT layer of k-input nodes: inputs in[g * k + i], tables tab[g]. */
static void run_lut_layer(const vw *restrict src, vw *restrict dst, int64_t width, int k,
                          const int32_t *restrict in, const uint64_t *restrict tab,
                          const vw (*restrict tbl)[4], const uint8_t *restrict code)
{
    const int n = 1 << k, leaves = n >> 2;
    vw leaf[16];
    for (int64_t g = 0; g < width; g++, in += k) {
        uint64_t t = tab[g];
        vw y = src[in[k - 2]], z = src[in[k - 1]];
        if (k <= 4) {
            for (int l = 0; l < leaves; l++) {
                const vw *m = tbl[(t >> (n - 4 - 4 * l)) & 15];
                leaf[l] = m[0] ^ (y & (m[1] ^ (m[3] & z))) ^ (m[2] & z);
            }
        } else {
            /* Many leaves: all 16 functions of (y, z) at once, as the XORs of the ANF
             * monomials {1, y, z, yz} (fn[s] = XOR of monomial i where bit i of s is set),
             * and each leaf picks the one its nibble's ANF spells. */
            vw zero = {0}, mono[4] = {zero - 1, y, z, y & z}, fn[16];
            fn[0] = zero;
            for (int s = 1; s < 16; s++) fn[s] = fn[s & (s - 1)] ^ mono[__builtin_ctz(s)];
            for (int l = 0; l < leaves; l++) leaf[l] = fn[code[(t >> (n - 4 - 4 * l)) & 15]];
        }
        for (int c = leaves, i = k - 3; c > 1; c >>= 1, i--) {
            vw x = src[in[i]];
            for (int l = 0; l < c / 2; l++) {
                vw lo = leaf[2 * l], hi = leaf[2 * l + 1];
                leaf[l] = lo ^ (x & (lo ^ hi));
            }
        }
        dst[g] = leaf[0];
    }
}

/* Add the 1-bit vector x at weight 2^level into the bit-sliced counter cnt[0..L). */
static inline void add_at(vw *cnt, int level, int L, vw x)
{
    for (int l = level; l < L; l++) {
        vw t = cnt[l] & x;
        cnt[l] ^= x;
        x = t;
    }
}

#define CSA(h, l, a, b, c) do { vw u_ = (a) ^ (b); h = ((a) & (b)) | (u_ & (c)); l = u_ ^ (c); } while (0)

/* sc[c * LGN_B + s] = popcount of class c's k outputs for sample s of the block. */
static void class_scores(const vw *out, int64_t C, int64_t k, int L, int32_t *sc)
{
    vw cnt[34];
    for (int64_t c = 0; c < C; c++) {
        const vw *x = out + c * k;
        vw zero = {0}, ones = zero, twos = zero, fours = zero;
        vw twosA, twosB, foursA, foursB, eights;
        for (int l = 0; l < L; l++) cnt[l] = zero;
        int64_t j = 0;
        for (; j + 8 <= k; j += 8) {   /* Harley-Seal: 8 wires -> one carry of weight 8 */
            CSA(twosA, ones, ones, x[j], x[j + 1]);
            CSA(twosB, ones, ones, x[j + 2], x[j + 3]);
            CSA(foursA, twos, twos, twosA, twosB);
            CSA(twosA, ones, ones, x[j + 4], x[j + 5]);
            CSA(twosB, ones, ones, x[j + 6], x[j + 7]);
            CSA(foursB, twos, twos, twosA, twosB);
            CSA(eights, fours, fours, foursA, foursB);
            add_at(cnt, 3, L, eights);
        }
        for (; j < k; j++) add_at(cnt, 0, L, x[j]);
        add_at(cnt, 0, L, ones);
        add_at(cnt, 1, L, twos);
        add_at(cnt, 2, L, fours);
        /* Unslice: sample 64 w + 8 q + i gets bit i of byte q of each level's word w,
         * eight samples at a time through per-lane shifts. */
        const v8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
        for (int w = 0; w < LGN_W; w++)
            for (int q = 0; q < 8; q++) {
                v8 acc = {0};
                for (int l = 0; l < L; l++) {
                    v8 byte = (v8){0} + (uint32_t)((cnt[l][w] >> (8 * q)) & 0xFF);
                    acc |= ((byte >> lane) & 1) << l;
                }
                memcpy(sc + c * LGN_B + 64 * w + 8 * q, &acc, sizeof acc);
            }
    }
}

/* Evaluate samples [0, n) (rows of `ni` 0/1 bytes, `stride` bytes apart).
 * widths[nl]; kinds[nl]: 0 for a gate layer, k (2..6) for a LUT layer;
 * a, b, op: the gate layers' gates concatenated; anf: 16 x 4 GF(2) coefficients;
 * lin, ltab: the LUT layers' inputs (k per node) and tables concatenated.
 * Writes scores[n * C] (row-major) and classes[n].
 * Returns 0 on success, 1 if an input byte is not 0 or 1, 2 if out of memory. */
int lgn_golden_eval(const uint8_t *bits, int64_t stride, int64_t n, int64_t ni,
                    int64_t nl, const int64_t *widths, const int64_t *kinds,
                    const int32_t *a, const int32_t *b, const uint8_t *op, const uint8_t *anf,
                    const int32_t *lin, const uint64_t *ltab, int64_t C,
                    int64_t *scores, int64_t *classes)
{
    if (n <= 0) return 0;
    int64_t ni32 = (ni + 31) / 32 * 32, maxw = ni32;
    for (int64_t l = 0; l < nl; l++) if (widths[l] > maxw) maxw = widths[l];
    int64_t k = widths[nl - 1] / C;
    int L = 4;
    while (L < 33 && (k >> L) != 0) L++;

    vw tbl[16][4];
    uint8_t code[16];   /* op -> its ANF coefficients as 4 bits (bit i = k_i) */
    for (int o = 0; o < 16; o++) {
        code[o] = 0;
        for (int i = 0; i < 4; i++) {
            vw m = {0};
            tbl[o][i] = m - (uint64_t)(anf[4 * o + i] & 1);   /* 0 or all ones */
            code[o] |= (anf[4 * o + i] & 1) << i;
        }
    }

    size_t bufbytes = ((size_t)maxw * sizeof(vw) + 63) / 64 * 64;   /* aligned_alloc: a multiple */
    vw *buf0 = aligned_alloc(64, bufbytes), *buf1 = aligned_alloc(64, bufbytes);
    uint8_t *pad = malloc((size_t)8 * ni32);
    int32_t *sc = aligned_alloc(64, (size_t)C * LGN_B * sizeof(int32_t));
    int rc = 0;
    if (!buf0 || !buf1 || !pad || !sc) { rc = 2; goto done; }

    for (int64_t s0 = 0; s0 < n; s0 += LGN_B) {
        int64_t rows = n - s0 < LGN_B ? n - s0 : LGN_B;
        if (pack_block(bits + s0 * stride, stride, rows, ni, ni32, pad, (uint64_t *)buf0)) {
            rc = 1;
            goto done;
        }
        vw *src = buf0, *dst = buf1;
        int64_t off = 0, loff = 0, lnodes = 0;
        for (int64_t l = 0; l < nl; l++) {
            if (kinds[l] == 0) {
                run_layer(src, dst, widths[l], a + off, b + off, op + off,
                          (const vw (*)[4])tbl);
                off += widths[l];
            } else {
                run_lut_layer(src, dst, widths[l], (int)kinds[l], lin + loff, ltab + lnodes,
                              (const vw (*)[4])tbl, code);
                loff += widths[l] * kinds[l];
                lnodes += widths[l];
            }
            vw *t = src; src = dst; dst = t;
        }
        class_scores(src, C, k, L, sc);
        for (int64_t i = 0; i < rows; i++) {
            int64_t *row = scores + (s0 + i) * C;
            int32_t best = sc[i];
            int64_t arg = 0;
            for (int64_t c = 0; c < C; c++) {
                int32_t v = sc[c * LGN_B + i];
                row[c] = v;
                if (v > best) { best = v; arg = c; }
            }
            classes[s0 + i] = arg;
        }
    }
done:
    free(buf0); free(buf1); free(pad); free(sc);
    return rc;
}
