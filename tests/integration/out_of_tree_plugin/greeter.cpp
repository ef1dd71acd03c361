// greeter: the smallest useful third-party plugin. One action that counts
// the characters of a name and says hello, showing parameters with
// defaults, a typed duration, the stop flag and a human summary line.
#include <chrono>
#include <sonda/plugin.hpp>
#include <thread>

namespace {

sonda::json greet(const sonda::json& params, sonda::Context& ctx) {
  const std::string name = params.at("name").get<std::string>();
  if (name.empty()) {
    throw sonda::StepError("name must not be empty", "invalid_param");
  }
  const auto pause = std::chrono::nanoseconds(params.at("pause").get<int64_t>());
  const int64_t until = sonda::Context::now_ns() + pause.count();
  while (!ctx.should_stop() && sonda::Context::now_ns() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ctx.info("greeting " + name);
  return {{"greeting", "hello, " + name},
          {"length", name.size()},
          {"summary", "greeted " + name}};
}

const sonda_param_spec kGreetParams[] = {
    {.name = "name", .type = SONDA_PARAM_STRING, .default_value = "world", .doc = "Who to greet"},
    {.name = "pause", .type = SONDA_PARAM_DURATION, .default_value = "1ms", .unit = "ns",
     .doc = "Wait this long first"}};

const sonda::Action kActions[] = {
    {{.name = "greet", .doc = "Say hello and count the name's bytes", .params = kGreetParams,
      .param_count = std::size(kGreetParams)},
     &greet}};

}  // namespace

SONDA_PLUGIN("greeter", "0.0.1", "Out-of-tree example plugin", 0, kActions)
