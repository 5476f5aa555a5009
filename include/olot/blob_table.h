// The inventory's record of every blob entry, sized for inputs with millions
// of tiny blobs: a record costs about 50 bytes (the digest in binary, the size
// and two flags), where a std::map of hex strings cost over 300.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "olot/digest.h"
#include "olot/layer.h"

namespace olot {

struct BlobRecord {
  uint64_t size = 0;
  bool buffered = false;
  Compression compression = Compression::none;  // sniffed from the first bytes
};

class BlobTable {
 public:
  BlobTable();
  // Adds a record; false (and nothing changes) if the digest is already there.
  bool insert(const Digest& digest, const BlobRecord& record);
  std::optional<BlobRecord> find(const Digest& digest) const;
  bool contains(const Digest& digest) const { return find(digest).has_value(); }
  size_t size() const { return sha256_.size() + sha512_.size(); }

 private:
  // Open addressing over indexes into a deque, which never moves its
  // records: growth costs the small index, not a copy of every record.
  template <size_t N>
  class Keyed {
   public:
    using Key = std::array<unsigned char, N>;
    bool insert(const Key& key, const BlobRecord& record, uint64_t seed);
    std::optional<BlobRecord> find(const Key& key, uint64_t seed) const;
    size_t size() const { return records_.size(); }

   private:
    struct Record {
      Key key;
      uint64_t size : 61;
      uint64_t buffered : 1;
      uint64_t compression : 2;
    };
    static constexpr uint32_t empty_slot = UINT32_MAX;
    size_t slot_of(const Key& key, uint64_t seed) const;  // its slot, or the empty one it would take
    void grow(uint64_t seed);
    std::deque<Record> records_;
    std::vector<uint32_t> slots_;
  };

  // A per-table random seed: blob names come from the input, and names
  // crafted to collide must not turn lookups quadratic.
  uint64_t seed_;
  Keyed<32> sha256_;
  Keyed<64> sha512_;
};

}  // namespace olot
