// Services: publish and unpublish (files under /services).
#include <algorithm>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "zones/names.h"
#include "zones/service_file.h"

namespace basefs {
namespace {

struct ServiceArgs {
  std::string name, service, instance;
  ServiceInstance inst;
  std::vector<std::string> txt;
  std::string check_tcp, check_http, check_script, check_ttl, check_interval = "10s", check_timeout = "2s";
};

// The instance the flags describe, normalised as the projection reads it.
ServiceInstance InstanceFromFlags(const ServiceArgs& a) {
  ServiceInstance inst = a.inst;
  for (const auto& kv : a.txt) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) Fail(Invalid("--txt wants KEY=VALUE, not '" + kv + "'"));
    inst.txt.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::sort(inst.txt.begin(), inst.txt.end());
  inst.node = Lowercase(inst.node);
  inst.protocol = Lowercase(inst.protocol);
  for (auto& t : inst.tags) t = Lowercase(t);
  const int checks = !a.check_tcp.empty() + !a.check_http.empty() + !a.check_script.empty() + !a.check_ttl.empty();
  if (checks > 1) Fail(Invalid("give at most one of --check-tcp, --check-http, --check-script, --check-ttl"));
  if (!a.check_ttl.empty()) {
    inst.check.kind = HealthCheck::Kind::kTtl;
    inst.check.interval_ms = inst.check.timeout_ms = OrDie(ParseDuration(a.check_ttl));
  } else if (checks == 1) {
    inst.check.kind = !a.check_tcp.empty()    ? HealthCheck::Kind::kTcp
                      : !a.check_http.empty() ? HealthCheck::Kind::kHttp
                                              : HealthCheck::Kind::kScript;
    inst.check.target = a.check_tcp + a.check_http + a.check_script;
    inst.check.interval_ms = OrDie(ParseDuration(a.check_interval));
    inst.check.timeout_ms = OrDie(ParseDuration(a.check_timeout));
  }
  return inst;
}

// `basefs publish`: validates like the DNS projection, then writes the
// instance file.
int CmdPublish(const Context& c, const ServiceArgs& a) {
  const ServiceInstance inst = InstanceFromFlags(a);
  const std::string service = Lowercase(a.service), instance = Lowercase(a.instance);
  if (!IsServiceLabel(service)) Fail(Invalid("service '" + service + "' is not a DNS label (letters, digits, '-')"));
  if (!IsServiceLabel(instance)) Fail(Invalid("instance '" + instance + "' is not a DNS label (letters, digits, '-')"));
  OrDie(ValidateServiceInstance(inst));
  const std::string text = FormatServiceFile(inst);
  OrDie(ParseServiceFile(text).status());  // what we write must read back
  StoreRef store = OpenStore(c, a.name);
  const KeyPair key = SigningKey(c);
  if (auto dir = store->Stat("/services/" + service); !dir.ok()) OrDie(store->Mkdir(key, "/services/" + service, true));
  OrDie(store->WriteFile(key, "/services/" + service + "/" + instance, text));
  return 0;
}

int CmdUnpublish(const Context& c, const ServiceArgs& a) {
  if (!IsServiceLabel(a.service) || !IsServiceLabel(a.instance))
    Fail(Invalid("service and instance must be DNS labels (letters, digits, '-')"));
  StoreRef store = OpenStore(c, a.name);
  const KeyPair key = SigningKey(c);
  OrDie(store->Remove(key, "/services/" + Lowercase(a.service) + "/" + Lowercase(a.instance), false));
  return 0;
}

}  // namespace

void AddServiceCommands(CLI::App& app, Context& c, std::vector<Subcommand>* out) {
  auto a = std::make_shared<ServiceArgs>();
  const auto name = [a] { return a->name; };
  auto* publish = app.add_subcommand("publish", "publish a service instance (writes /services/SERVICE/INSTANCE)");
  auto* unpublish = app.add_subcommand("unpublish", "remove a service instance");
  for (auto* sub : {publish, unpublish}) {
    sub->add_option("NAME", a->name)->required();
    sub->add_option("SERVICE", a->service)->required();
    sub->add_option("INSTANCE", a->instance)->required();
  }
  ServiceInstance& inst = a->inst;
  publish->add_option("--port", inst.port, "port (1..65535)")->required();
  publish->add_option("--address", inst.address, "IPv4 or IPv6 address (default: the owning node's)");
  publish->add_option("--node", inst.node, "owning node (default: the node that writes the file)");
  publish->add_option("--tag", inst.tags, "tag (repeatable)");
  publish->add_option("--protocol", inst.protocol, "tcp or udp");
  publish->add_option("--priority", inst.priority, "SRV priority");
  publish->add_option("--weight", inst.weight, "SRV weight");
  publish->add_option("--ttl", inst.ttl, "TTL in seconds");
  publish->add_option("--txt", a->txt, "K=V for the TXT record (repeatable)");
  publish->add_option("--check-tcp", a->check_tcp, "health check: HOST:PORT accepts a connection");
  publish->add_option("--check-http", a->check_http, "health check: URL answers 2xx or 3xx");
  publish->add_option("--check-script", a->check_script, "health check: command exits 0");
  publish->add_option("--check-ttl", a->check_ttl,
                      "health check the service reports itself through the HTTP API within this time (e.g. 30s)");
  publish->add_option("--check-interval", a->check_interval, "health check interval (e.g. 10s)");
  publish->add_option("--check-timeout", a->check_timeout, "health check timeout (e.g. 2s)");
  out->push_back(Subcommand::OnStore(publish, name, [&c, a] { return CmdPublish(c, *a); }));
  out->push_back(Subcommand::OnStore(unpublish, name, [&c, a] { return CmdUnpublish(c, *a); }));
}

}  // namespace basefs
