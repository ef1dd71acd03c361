// The two renderers of the scan record agree, field for field.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scan.hpp"
#include "test_support.hpp"

namespace sonda::proc_scanner {
namespace {

using nlohmann::json;

TEST(Render, TextRendererPrintsTheSameRecordAsTheDom) {
  std::vector<int> fds;
  const int listener = testing::bound_socket(AF_INET6, SOCK_STREAM, "::1", 0, 64);
  fds.push_back(listener);
  for (int i = 0; i < 20; ++i) {
    fds.push_back(testing::connected_socket(AF_INET6, SOCK_STREAM, "::1", "::1",
                                            testing::local_port(listener)));
    fds.push_back(::accept(listener, nullptr, nullptr));
  }
  fds.push_back(testing::bound_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0));
  const ScanOptions options = ScanOptions::from_json(json::object());
  const ScanResult result = collect_scan(options);
  const json dom = render_scan(result, options);
  const json text = json::parse(render_scan_text(result, options));
  EXPECT_EQ(text, dom) << "differences: " << json::diff(dom, text).dump(1).substr(0, 2000);
  EXPECT_GE(text["sockets"].size(), 42u);
  testing::close_all(fds);
}

}  // namespace
}  // namespace sonda::proc_scanner
