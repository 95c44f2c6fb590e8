// StoreSink: the EntrySink gossip uses, on a Store.
//
// Lifetime: the Store must outlive the sink. Thread-safety: loop thread only.
#pragma once

#include "replicate/gossip.h"
#include "store/store.h"

namespace basefs {

class StoreSink : public EntrySink {
 public:
  explicit StoreSink(Store* store) : store_(store) {}
  Result<Placement> OfferEntry(std::string_view bytes) override { return store_->AddEntry(bytes, false); }
  Status OfferBlock(std::string_view bytes) override { return store_->AddBlock(bytes, false); }
  std::optional<Part> Lookup(const Hash& h) override {
    if (auto e = store_->EntryBytes(h)) return Part(EntryPart{std::move(*e)});
    if (auto b = store_->FindBlock(h)) return Part(BlockPart{std::move(*b)});
    return std::nullopt;
  }
  std::vector<Hash> Wanted(size_t max) override { return store_->Wanted(max); }

 private:
  Store* store_;
};

}  // namespace basefs
