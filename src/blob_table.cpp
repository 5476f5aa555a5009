#include "olot/blob_table.h"

#include <xxhash.h>

#include <random>

#include "olot/error.h"

namespace olot {

namespace {

constexpr uint64_t max_blob_size = (uint64_t{1} << 61) - 1;

int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

template <size_t N>
std::array<unsigned char, N> key_of(const Digest& digest) {
  std::array<unsigned char, N> key{};
  for (size_t i = 0; i < N && 2 * i + 1 < digest.hex.size(); ++i)
    key[i] = static_cast<unsigned char>(hex_value(digest.hex[2 * i]) << 4 | hex_value(digest.hex[2 * i + 1]));
  return key;
}

uint64_t random_seed() {
  std::random_device device;
  return uint64_t{device()} << 32 | device();
}

}  // namespace

template <size_t N>
size_t BlobTable::Keyed<N>::slot_of(const Key& key, uint64_t seed) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = XXH3_64bits_withSeed(key.data(), N, seed) & mask;; i = (i + 1) & mask)
    if (slots_[i] == empty_slot || records_[slots_[i]].key == key) return i;
}

template <size_t N>
void BlobTable::Keyed<N>::grow(uint64_t seed) {
  slots_.assign(slots_.empty() ? 1024 : 2 * slots_.size(), empty_slot);
  for (size_t r = 0; r < records_.size(); ++r) slots_[slot_of(records_[r].key, seed)] = static_cast<uint32_t>(r);
}

template <size_t N>
bool BlobTable::Keyed<N>::insert(const Key& key, const BlobRecord& record, uint64_t seed) {
  if (record.size > max_blob_size) throw Error(Exit::data, "blob larger than 2 EiB");
  if (records_.size() + 1 > slots_.size() / 2) grow(seed);
  size_t slot = slot_of(key, seed);
  if (slots_[slot] != empty_slot) return false;
  if (records_.size() >= empty_slot) throw Error(Exit::data, "more than 4 294 967 295 blobs");
  slots_[slot] = static_cast<uint32_t>(records_.size());
  records_.push_back(Record{key, record.size, record.buffered, static_cast<uint64_t>(record.compression)});
  return true;
}

template <size_t N>
std::optional<BlobRecord> BlobTable::Keyed<N>::find(const Key& key, uint64_t seed) const {
  if (slots_.empty()) return std::nullopt;
  uint32_t r = slots_[slot_of(key, seed)];
  if (r == empty_slot) return std::nullopt;
  const Record& found = records_[r];
  return BlobRecord{found.size, found.buffered != 0, static_cast<Compression>(found.compression)};
}

BlobTable::BlobTable() : seed_(random_seed()) {}

bool BlobTable::insert(const Digest& digest, const BlobRecord& record) {
  if (digest.alg == DigestAlg::sha512) return sha512_.insert(key_of<64>(digest), record, seed_);
  return sha256_.insert(key_of<32>(digest), record, seed_);
}

std::optional<BlobRecord> BlobTable::find(const Digest& digest) const {
  if (digest.alg == DigestAlg::sha512) return sha512_.find(key_of<64>(digest), seed_);
  return sha256_.find(key_of<32>(digest), seed_);
}

}  // namespace olot
