#include "daemon/api_backend.h"

#include "daemon/dns_service.h"
#include "replicate/gossip.h"
#include "store/store.h"

namespace basefs {

const Catalog& NodeApiBackend::catalog() {
  if (!dirty_) return catalog_;
  CatalogInput in;
  in.self = s_.self;
  in.datacenter = s_.datacenter;
  for (const Member& m : s_.gossip->Members())
    in.members.push_back(CatalogMemberInput{m.name, m.addr, MemberStateName(m.state), m.incarnation,
                                            IsZero(m.key) ? std::string() : ToBase64(m.key), ParseNodeMeta(m.meta).down,
                                            s_.wall_ms_at ? s_.wall_ms_at(m.state_since_ms) : 0});
  in.files = ServiceFilesOf(*s_.store);
  for (const auto& [id, r] : s_.dns->health().Results()) in.local_checks[id] = {r.status, r.output};
  catalog_ = BuildCatalog(in);
  dirty_ = false;
  return catalog_;
}

const Store& NodeApiBackend::store() { return *s_.store; }

Status NodeApiBackend::NeedKey() const {
  return s_.key ? Status::Ok() : PermissionDenied("this node has no key to sign writes with");
}

Status NodeApiBackend::WriteFile(const std::string& path, const std::string& content) {
  BASEFS_RETURN_IF_ERROR(NeedKey());
  return s_.store->WriteFile(*s_.key, path, content);
}

Status NodeApiBackend::Mkdir(const std::string& path) {
  BASEFS_RETURN_IF_ERROR(NeedKey());
  return s_.store->Mkdir(*s_.key, path, true);
}

Status NodeApiBackend::Remove(const std::string& path, bool recursive) {
  BASEFS_RETURN_IF_ERROR(NeedKey());
  return s_.store->Remove(*s_.key, path, recursive);
}

void NodeApiBackend::ReportTtl(const std::string& instance_id, uint32_t ttl_ms, const std::string& status,
                               const std::string& output) {
  s_.dns->mutable_health().ReportTtl(instance_id, ttl_ms, status, output);
  dirty_ = true;
}

}  // namespace basefs
