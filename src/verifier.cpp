#include "olot/verifier.h"

#include <cstring>

#include "olot/error.h"

namespace olot {

namespace {
constexpr size_t chunk_size = 1 << 20;
constexpr size_t max_chunks = 6;
}  // namespace

BlobVerifier::BlobVerifier() { worker_ = std::thread([this] { work(); }); }

BlobVerifier::~BlobVerifier() {
  {
    std::lock_guard lock(mutex_);
    queue_.clear();
    queue_.push_back(Job{Job::Kind::stop, {}, {}, {}});
  }
  changed_.notify_all();
  worker_.join();
}

void BlobVerifier::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    ++pending_jobs_;
    queue_.push_back(std::move(job));
  }
  changed_.notify_all();
}

void BlobVerifier::begin(const Digest& expected, const std::string& entry) {
  submit(Job{Job::Kind::begin, expected, entry, {}});
}

void BlobVerifier::feed(std::span<const unsigned char> data) {
  while (!data.empty()) {
    if (filling_.capacity() == 0) {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !free_chunks_.empty() || chunks_out_ < max_chunks; });
      if (!free_chunks_.empty()) {
        filling_ = std::move(free_chunks_.back());
        free_chunks_.pop_back();
      } else {
        ++chunks_out_;
        filling_.reserve(chunk_size);
      }
      filling_.clear();
    }
    size_t n = std::min(data.size(), chunk_size - filling_.size());
    filling_.insert(filling_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    if (filling_.size() == chunk_size) flush_chunk();
  }
}

void BlobVerifier::flush_chunk() {
  if (filling_.capacity() == 0) return;
  submit(Job{Job::Kind::data, {}, {}, std::move(filling_)});
  filling_ = {};
}

void BlobVerifier::end() {
  flush_chunk();
  submit(Job{Job::Kind::end, {}, {}, {}});
}

void BlobVerifier::work() {
  std::optional<Hasher> hasher;
  Digest expected;
  std::string entry;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !queue_.empty(); });
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    switch (job.kind) {
      case Job::Kind::stop: return;
      case Job::Kind::begin:
        hasher.emplace(job.expected.alg);
        expected = job.expected;
        entry = job.entry;
        break;
      case Job::Kind::data: hasher->write(job.chunk.data(), job.chunk.size()); break;
      case Job::Kind::end: {
        Digest actual = hasher->finish();
        if (actual != expected) {
          std::lock_guard lock(mutex_);
          if (!failure_) failure_ = "blob content does not match its name: " + entry + " (content is " + actual.str() + ")";
        }
        break;
      }
    }
    {
      std::lock_guard lock(mutex_);
      if (job.kind == Job::Kind::data) free_chunks_.push_back(std::move(job.chunk));
      --pending_jobs_;
    }
    changed_.notify_all();
  }
}

void BlobVerifier::throw_if_failed() {
  if (failure_) throw Error(Exit::data, *failure_);
}

void BlobVerifier::check() {
  std::lock_guard lock(mutex_);
  throw_if_failed();
}

void BlobVerifier::finish() {
  flush_chunk();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return pending_jobs_ == 0; });
  throw_if_failed();
}

}  // namespace olot
