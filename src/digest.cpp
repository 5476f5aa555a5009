#include "olot/digest.h"

#include <openssl/evp.h>
#include <xxhash.h>
// The library picks SSE2, AVX2 or AVX-512 at run time only through these
// entry points; the plain ones are built for the baseline CPU (SSE2).
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#endif

#include "olot/error.h"

namespace olot {

std::string_view alg_name(DigestAlg alg) { return alg == DigestAlg::sha256 ? "sha256" : "sha512"; }

size_t hex_length(DigestAlg alg) { return alg == DigestAlg::sha256 ? 64 : 128; }

std::optional<DigestAlg> alg_from_name(std::string_view name) {
  if (name == "sha256") return DigestAlg::sha256;
  if (name == "sha512") return DigestAlg::sha512;
  return std::nullopt;
}

std::string Digest::str() const { return std::string(alg_name(alg)) + ":" + hex; }

std::string Digest::blob_path() const { return "blobs/" + std::string(alg_name(alg)) + "/" + hex; }

std::optional<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto alg = alg_from_name(text.substr(0, colon));
  if (!alg) return std::nullopt;
  auto hex = text.substr(colon + 1);
  if (hex.size() != hex_length(*alg)) return std::nullopt;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  return Digest{*alg, std::string(hex)};
}

std::string to_hex(const unsigned char* bytes, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

Hasher::Hasher(DigestAlg alg) : alg_(alg), ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
  if (!ctx_) throw Error(Exit::software, "cannot allocate a hash context");
  reset();
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::reset() {
  const EVP_MD* md = alg_ == DigestAlg::sha256 ? EVP_sha256() : EVP_sha512();
  if (EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) throw Error(Exit::software, "cannot start a hash");
}

void Hasher::write(const void* data, size_t size) {
  if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw Error(Exit::software, "hash update failed");
}

Digest Hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw Error(Exit::software, "hash finish failed");
  reset();
  return Digest{alg_, to_hex(md, len)};
}

Digest digest_of(std::string_view bytes, DigestAlg alg) {
  Hasher h(alg);
  h.write(bytes);
  return h.finish();
}

Xxh3Hasher::Xxh3Hasher() : state_(XXH3_createState(), [](XXH3_state_s* s) { XXH3_freeState(s); }) {
  if (!state_) throw Error(Exit::software, "cannot allocate an XXH3 state");
  XXH3_128bits_reset(state_.get());
}

Xxh3Hasher::~Xxh3Hasher() = default;
Xxh3Hasher::Xxh3Hasher(Xxh3Hasher&&) noexcept = default;
Xxh3Hasher& Xxh3Hasher::operator=(Xxh3Hasher&&) noexcept = default;

void Xxh3Hasher::write(const void* data, size_t size) { XXH3_128bits_update(state_.get(), data, size); }

Xxh128 Xxh3Hasher::finish() const {
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(state_.get()));
  Xxh128 out;
  std::copy(std::begin(canon.digest), std::end(canon.digest), out.begin());
  return out;
}

}  // namespace olot
