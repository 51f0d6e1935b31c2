#include "sources/registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace changefeed::sources {
namespace {

bool default_fits(const knob_spec& knob) {
    const auto& v = knob.default_value;
    if (v.is_null()) {
        return true;
    }
    switch (knob.type) {
    case knob_type::string:
    case knob_type::secret:
        return v.is_string();
    case knob_type::boolean:
        return v.is_bool();
    case knob_type::integer:
        return v.is_int64() && v.get_int64() >= knob.min_int && v.get_int64() <= knob.max_int;
    case knob_type::duration:
        return v.is_int64() && v.get_int64() >= 0;
    case knob_type::string_list:
        return v.is_array();
    }
    return false;
}

TEST(kind_registry, lists_the_five_kinds) {
    std::vector<std::string> names;
    for (const auto& spec : known_kinds()) {
        names.push_back(spec.kind);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"pennylane", "saleschannel", "retailcrm", "struct",
                                               "precoro"}));
    EXPECT_EQ(find_kind("struct"), &known_kinds()[3]);
    EXPECT_EQ(find_kind("nope"), nullptr);
}

TEST(kind_registry, specs_are_self_consistent) {
    for (const auto& spec : known_kinds()) {
        SCOPED_TRACE(spec.kind);
        EXPECT_GT(spec.default_poll_interval.count(), 0);
        EXPECT_FALSE(spec.default_rate_limit.empty());
        for (const auto& w : spec.default_rate_limit) {
            EXPECT_GT(w.limit, 0u);
            EXPECT_GT(w.window.count(), 0);
        }
        EXPECT_EQ(spec.allowed_resources.empty(), spec.default_resources.empty());
        for (const auto& r : spec.default_resources) {
            EXPECT_NE(std::find(spec.allowed_resources.begin(), spec.allowed_resources.end(), r),
                      spec.allowed_resources.end())
                << r;
        }
        std::set<std::string> knob_names;
        for (const auto& knob : spec.knobs) {
            SCOPED_TRACE(knob.name);
            EXPECT_TRUE(knob_names.insert(knob.name).second) << "duplicate knob";
            EXPECT_TRUE(default_fits(knob));
            EXPECT_FALSE(knob.help.empty());
            EXPECT_FALSE(knob.required && !knob.default_value.is_null())
                << "required with a default";
            if (!knob.allowed_values.empty() && !knob.default_value.is_null()) {
                EXPECT_NE(std::find(knob.allowed_values.begin(), knob.allowed_values.end(),
                                    knob.default_value),
                          knob.allowed_values.end());
            }
        }
    }
}

}  // namespace
}  // namespace changefeed::sources
