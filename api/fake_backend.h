// A ConsulBackend for tests and fuzzing: node "n1" of datacenter "prod",
// serving a store on an in-memory LevelDB, with members n1 (its key) and
// n2; writes are signed with n1's key, and TTL reports kept in memory.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/consul_api.h"
#include "store/test_util.h"

namespace basefs::testing {

class FakeBackend : public ConsulBackend {
 public:
  FakeBackend() : key_(GenerateKeyPair()), store_(factory_.Create(key_, factory_.NewDir())) {
    members_ = {{"n1", "10.0.0.1:7400", "alive", 3, ToBase64(key_.public_key), {}},
                {"n2", "10.0.0.2:7400", "alive", 1, "", {}}};
  }
  const Catalog& catalog() override {
    CatalogInput in;
    in.self = "n1";
    in.datacenter = "prod";
    in.members = members_;
    in.files = ServiceFilesOf(*store_);
    in.local_checks = local_;
    catalog_ = BuildCatalog(in);
    return catalog_;
  }
  const Store& store() override { return *store_; }
  std::string version() override { return "0.1.0 (test)"; }
  std::string metrics() override { return "basefs_up 1\n"; }
  Status WriteFile(const std::string& path, const std::string& content) override {
    return store_->WriteFile(key_, path, content);
  }
  Status Mkdir(const std::string& path) override { return store_->Mkdir(key_, path, true); }
  Status Remove(const std::string& path, bool recursive) override { return store_->Remove(key_, path, recursive); }
  void ReportTtl(const std::string& id, uint32_t, const std::string& status, const std::string& output) override {
    local_[id] = {status, output};
  }

  MemStoreFactory factory_;
  KeyPair key_;
  std::unique_ptr<Store> store_;
  std::vector<CatalogMemberInput> members_;
  std::map<std::string, LocalCheckResult> local_;
  Catalog catalog_;
};

}  // namespace basefs::testing
