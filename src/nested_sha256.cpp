#include "olot/nested_sha256.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "olot/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define OLOT_HAVE_SHA_NI 1
#endif

namespace olot {

class NestedSha256::Lanes {
 public:
  virtual ~Lanes() = default;
  virtual void write(const unsigned char* data, size_t size) = 0;
  virtual void open_stretch() = 0;
  virtual Digest close_stretch() = 0;
  virtual Digest finish() = 0;
};

namespace {

// The stream's lane and the open stretch's, of either engine's lane type
// (anything with a finish() that gives the Digest).
template <typename Lane>
class LanePair : public NestedSha256::Lanes {
 public:
  void open_stretch() override { stretch_.emplace(); }
  Digest close_stretch() override {
    Digest d = stretch_->finish();
    stretch_.reset();
    return d;
  }
  Digest finish() override { return stream_.finish(); }

 protected:
  Lane stream_;
  std::optional<Lane> stretch_;
};

// Two OpenSSL contexts: every byte is hashed twice.
class OpenSslLanes final : public LanePair<Hasher> {
 public:
  void write(const unsigned char* data, size_t size) override {
    stream_.write(data, size);
    if (stretch_) stretch_->write(data, size);
  }
};

#ifdef OLOT_HAVE_SHA_NI

constexpr size_t block_size = 64;

alignas(16) constexpr uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::array<uint32_t, 8> initial_state = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// SHA-NI keeps the eight state words as ABEF and CDGH.
struct NiState {
  __m128i abef, cdgh;
};

__attribute__((target("sha,sse4.1,ssse3"))) NiState to_ni(const std::array<uint32_t, 8>& h) {
  __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h.data())), 0xB1);
  __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h.data() + 4)), 0x1B);
  return {_mm_alignr_epi8(abcd, hgfe, 8), _mm_blend_epi16(hgfe, abcd, 0xF0)};
}

__attribute__((target("sha,sse4.1,ssse3"))) void from_ni(NiState s, std::array<uint32_t, 8>& h) {
  __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h.data()), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h.data() + 4), _mm_alignr_epi8(dchg, feba, 8));
}

// Runs `blocks` message blocks through N states at once: the message
// schedule is computed once, only the rounds are done per state, and the
// independent rounds of the states fill each other's instruction latency.
template <size_t N>
__attribute__((target("sha,sse4.1,ssse3"))) void compress(std::array<uint32_t, 8>* const (&states)[N],
                                                          const unsigned char* data, size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  NiState s[N];
  for (size_t i = 0; i < N; ++i) s[i] = to_ni(*states[i]);
  for (; blocks > 0; --blocks, data += block_size) {
    NiState saved[N];
    std::copy(s, s + N, saved);
    __m128i w[4];
    for (int j = 0; j < 4; ++j)
      w[j] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * j)), byte_swap);
    // 16 groups of 4 rounds; w[g % 4] holds the group's message words and
    // is extended in place for the groups that follow.
    _Pragma("GCC unroll 16") for (int g = 0; g < 16; ++g) {
      __m128i& current = w[g & 3];
      __m128i& next = w[(g + 1) & 3];
      __m128i& previous = w[(g + 3) & 3];
      __m128i k = _mm_add_epi32(current, _mm_load_si128(reinterpret_cast<const __m128i*>(round_constants + 4 * g)));
      for (size_t i = 0; i < N; ++i) s[i].cdgh = _mm_sha256rnds2_epu32(s[i].cdgh, s[i].abef, k);
      if (g >= 3 && g <= 14) {
        next = _mm_add_epi32(next, _mm_alignr_epi8(current, previous, 4));
        next = _mm_sha256msg2_epu32(next, current);
      }
      k = _mm_shuffle_epi32(k, 0x0E);
      for (size_t i = 0; i < N; ++i) s[i].abef = _mm_sha256rnds2_epu32(s[i].abef, s[i].cdgh, k);
      if (g >= 1 && g <= 12) previous = _mm_sha256msg1_epu32(previous, current);
    }
    for (size_t i = 0; i < N; ++i) {
      s[i].abef = _mm_add_epi32(s[i].abef, saved[i].abef);
      s[i].cdgh = _mm_add_epi32(s[i].cdgh, saved[i].cdgh);
    }
  }
  for (size_t i = 0; i < N; ++i) from_ni(s[i], *states[i]);
}

struct Sha256Lane {
  std::array<uint32_t, 8> h = initial_state;
  std::array<unsigned char, block_size> pending{};
  size_t filled = 0;  // bytes in `pending`
  uint64_t length = 0;

  // Appends up to a block's remainder to `pending`; true when it is full.
  bool top_up(const unsigned char*& data, size_t& size) {
    size_t take = std::min(block_size - filled, size);
    std::memcpy(pending.data() + filled, data, take);
    filled += take;
    length += take;
    data += take;
    size -= take;
    return filled == block_size;
  }

  void absorb(const unsigned char* data, size_t size) {
    std::array<uint32_t, 8>* one[1] = {&h};
    if (filled > 0 && top_up(data, size)) {
      compress(one, pending.data(), 1);
      filled = 0;
    }
    if (filled > 0) return;
    size_t blocks = size / block_size;
    compress(one, data, blocks);
    length += blocks * block_size;
    data += blocks * block_size;
    size -= blocks * block_size;
    top_up(data, size);
  }

  Digest finish() {
    unsigned char tail[2 * block_size] = {};
    std::memcpy(tail, pending.data(), filled);
    tail[filled] = 0x80;
    size_t tail_size = filled + 1 + 8 <= block_size ? block_size : 2 * block_size;
    uint64_t bits = length * 8;
    for (size_t i = 0; i < 8; ++i) tail[tail_size - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
    std::array<uint32_t, 8>* one[1] = {&h};
    compress(one, tail, tail_size / block_size);
    unsigned char bytes[32];
    for (size_t i = 0; i < 8; ++i)
      for (size_t j = 0; j < 4; ++j) bytes[4 * i + j] = static_cast<unsigned char>(h[i] >> (24 - 8 * j));
    return Digest{DigestAlg::sha256, to_hex(bytes, sizeof bytes)};
  }
};

class ShaNiLanes final : public LanePair<Sha256Lane> {
 public:
  void write(const unsigned char* data, size_t size) override {
    if (!stretch_) return stream_.absorb(data, size);
    // A stretch that began mid-block never shares blocks with the stream.
    if (stretch_->filled != stream_.filled) {
      stream_.absorb(data, size);
      return stretch_->absorb(data, size);
    }
    absorb_both(data, size);
  }

 private:
  // Both lanes are at the same block offset, so their pending bytes are the
  // same bytes and every full block is one for both.
  void absorb_both(const unsigned char* data, size_t size) {
    std::array<uint32_t, 8>* both[2] = {&stream_.h, &stretch_->h};
    if (stream_.filled > 0) {
      const unsigned char* d = data;
      size_t n = size;
      stretch_->top_up(d, n);
      if (stream_.top_up(data, size)) {
        compress(both, stream_.pending.data(), 1);
        stream_.filled = stretch_->filled = 0;
      }
      if (stream_.filled > 0) return;
    }
    size_t blocks = size / block_size;
    compress(both, data, blocks);
    stream_.length += blocks * block_size;
    stretch_->length += blocks * block_size;
    data += blocks * block_size;
    size -= blocks * block_size;
    const unsigned char* d = data;
    size_t n = size;
    stretch_->top_up(d, n);
    stream_.top_up(data, size);
  }
};

#endif  // OLOT_HAVE_SHA_NI

std::unique_ptr<NestedSha256::Lanes> make_lanes(NestedSha256::Engine engine) {
#ifdef OLOT_HAVE_SHA_NI
  if (engine == NestedSha256::Engine::best && sha_ni_available()) return std::make_unique<ShaNiLanes>();
#endif
  (void)engine;
  return std::make_unique<OpenSslLanes>();
}

}  // namespace

bool sha_ni_available() {
#ifdef OLOT_HAVE_SHA_NI
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1)) return false;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
#else
  return false;
#endif
}

NestedSha256::NestedSha256(Engine engine) : lanes_(make_lanes(engine)) {}
NestedSha256::~NestedSha256() = default;

void NestedSha256::write(const void* data, size_t size) {
  lanes_->write(static_cast<const unsigned char*>(data), size);
}

void NestedSha256::open_stretch() {
  if (stretch_open_) throw Error(Exit::software, "a stretch is already open");
  stretch_open_ = true;
  lanes_->open_stretch();
}

Digest NestedSha256::close_stretch() {
  if (!stretch_open_) throw Error(Exit::software, "no stretch is open");
  stretch_open_ = false;
  return lanes_->close_stretch();
}

Digest NestedSha256::finish() { return lanes_->finish(); }

}  // namespace olot
