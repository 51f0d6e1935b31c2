// The configuration loader on arbitrary YAML: an app_config or a config_error, never a crash; an
// accepted configuration renders (redacted) into YAML that loads again.
#include "app/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace changefeed::app;
    std::string_view yaml(reinterpret_cast<const char*>(data), size);
    auto env = [](std::string_view name) -> std::optional<std::string> {
        if (name.size() % 2 == 0) {
            return std::string("value-of-") + std::string(name);
        }
        return std::nullopt;
    };
    auto loaded = load_config_text(yaml, "fuzz.yaml", env);
    if (auto* config = std::get_if<app_config>(&loaded)) {
        auto rendered = render_redacted(*config);
        auto again = load_config_text(rendered, "rendered.yaml", env);
        if (std::holds_alternative<config_error>(again)) {
            std::abort();  // what check-config prints must load again
        }
    }
    return 0;
}
