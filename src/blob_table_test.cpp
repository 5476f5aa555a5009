#include "olot/blob_table.h"

#include <gtest/gtest.h>

namespace olot {
namespace {

Digest numbered(int i, DigestAlg alg = DigestAlg::sha256) { return digest_of("blob " + std::to_string(i), alg); }

TEST(BlobTable, FindsWhatWasInserted) {
  BlobTable table;
  EXPECT_TRUE(table.insert(numbered(1), {7, false, Compression::gzip}));
  EXPECT_TRUE(table.insert(numbered(2), {(uint64_t{1} << 40) + 3, true, Compression::none}));
  auto one = table.find(numbered(1));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size, 7u);
  EXPECT_FALSE(one->buffered);
  EXPECT_EQ(one->compression, Compression::gzip);
  auto two = table.find(numbered(2));
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size, (uint64_t{1} << 40) + 3);
  EXPECT_TRUE(two->buffered);
  EXPECT_FALSE(table.contains(numbered(3)));
  EXPECT_EQ(table.size(), 2u);
}

TEST(BlobTable, ASecondInsertOfADigestIsRefusedAndChangesNothing) {
  BlobTable table;
  EXPECT_TRUE(table.insert(numbered(1), {7, false, Compression::zstd}));
  EXPECT_FALSE(table.insert(numbered(1), {9, true, Compression::none}));
  EXPECT_EQ(table.find(numbered(1))->size, 7u);
  EXPECT_EQ(table.find(numbered(1))->compression, Compression::zstd);
  EXPECT_EQ(table.size(), 1u);
}

TEST(BlobTable, KeepsTheAlgorithmsApart) {
  BlobTable table;
  Digest sha256 = numbered(1);
  // The same 64 hex digits named sha256 and as the first half of a sha512.
  Digest sha512 = numbered(1, DigestAlg::sha512);
  sha512.hex.replace(0, 64, sha256.hex);
  EXPECT_TRUE(table.insert(sha512, {5, false, Compression::none}));
  EXPECT_FALSE(table.contains(sha256));
  EXPECT_TRUE(table.insert(sha256, {6, false, Compression::none}));
  EXPECT_EQ(table.find(sha512)->size, 5u);
  EXPECT_EQ(table.find(sha256)->size, 6u);
}

TEST(BlobTable, GrowsPastManyThousandsWithoutLosingAny) {
  BlobTable table;
  constexpr int n = 50000;
  for (int i = 0; i < n; ++i) ASSERT_TRUE(table.insert(numbered(i), {static_cast<uint64_t>(i), false, Compression::none}));
  EXPECT_EQ(table.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto r = table.find(numbered(i));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->size, static_cast<uint64_t>(i));
  }
  EXPECT_FALSE(table.contains(numbered(n)));
}

TEST(BlobTable, AnEmptyTableFindsNothing) {
  BlobTable table;
  EXPECT_FALSE(table.contains(numbered(0)));
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace olot
