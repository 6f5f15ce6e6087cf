// synthetic_checkpoint.cpp: fast generation of Llama-shaped weights with outliers.
#include "checkpoint/synthetic_checkpoint.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/progress.h"
#include "checkpoint/safetensors_writer.h"
#include "checkpoint/shard_index.h"
#include "checkpoint/strict_json.h"
#include "common/numerics.h"

namespace fp8kit::checkpoint {
namespace fs = std::filesystem;
namespace {

/// xorshift64*: fast, good enough for test data.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
};

/// 65536 standard normal samples; elements are drawn from the table (fast, realistic enough).
std::vector<float> normal_table(Rng& rng) {
  std::vector<float> t(65536);
  for (size_t i = 0; i < t.size(); i += 2) {
    const double u1 = std::max(rng.uniform(), 1e-300), u2 = rng.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    t[i] = static_cast<float>(r * std::cos(6.283185307179586 * u2));
    t[i + 1] = static_cast<float>(r * std::sin(6.283185307179586 * u2));
  }
  return t;
}

enum class Kind { matrix, norm };

struct Planned {
  TensorSpec spec;
  Kind kind;
};

void store(uint8_t* out, size_t i, float v, StDType t) {
  if (t == StDType::F32) {
    std::memcpy(out + i * 4, &v, 4);
    return;
  }
  const uint16_t h = t == StDType::BF16 ? numerics::float_to_bf16_bits(v) : numerics::float_to_f16_bits(v);
  std::memcpy(out + i * 2, &h, 2);
}

/// Fills a tensor: matrices N(0, 0.02) with ~1/64 of input columns x8 and ~1e-4 of elements x40
/// (heavy-tailed like trained LLM weights); norms 1 + N(0, 0.05).
void fill(std::vector<uint8_t>& buf, const Planned& p, const std::vector<float>& normal, Rng& rng) {
  const size_t n = static_cast<size_t>(tensor_nbytes(p.spec.dtype, p.spec.shape, "", p.spec.name) /
                                       static_cast<uint64_t>(st_dtype_bits(p.spec.dtype) / 8));
  buf.resize(n * static_cast<size_t>(st_dtype_bits(p.spec.dtype) / 8));
  const int64_t cols = p.spec.shape.back();
  std::vector<float> col_gain(static_cast<size_t>(cols), 1.0f);
  if (p.kind == Kind::matrix) {
    for (float& g : col_gain) g = (rng.next() & 63) == 0 ? 8.0f : 1.0f;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = rng.next();
    const float z = normal[r >> 48];
    float v;
    if (p.kind == Kind::norm) {
      v = 1.0f + 0.05f * z;
    } else {
      v = 0.02f * z * col_gain[i % static_cast<size_t>(cols)];
      if ((r & 0xFFFF) < 7) v *= 40.0f;  // ~1e-4 of the elements
    }
    store(buf.data(), i, v, p.spec.dtype);
  }
}

std::vector<Planned> plan_model(const SyntheticSpec& s) {
  const int64_t head_dim = s.hidden / s.heads;
  const int64_t kv = head_dim * s.kv_heads;
  std::vector<Planned> out;
  auto add = [&](std::string name, std::vector<int64_t> shape, Kind kind) {
    out.push_back({{std::move(name), s.dtype, std::move(shape)}, kind});
  };
  add("model.embed_tokens.weight", {s.vocab, s.hidden}, Kind::matrix);
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {s.hidden}, Kind::norm);
    add(p + "self_attn.q_proj.weight", {s.hidden, s.hidden}, Kind::matrix);
    add(p + "self_attn.k_proj.weight", {kv, s.hidden}, Kind::matrix);
    add(p + "self_attn.v_proj.weight", {kv, s.hidden}, Kind::matrix);
    add(p + "self_attn.o_proj.weight", {s.hidden, s.hidden}, Kind::matrix);
    add(p + "post_attention_layernorm.weight", {s.hidden}, Kind::norm);
    add(p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, Kind::matrix);
    add(p + "mlp.up_proj.weight", {s.intermediate, s.hidden}, Kind::matrix);
    add(p + "mlp.down_proj.weight", {s.hidden, s.intermediate}, Kind::matrix);
  }
  add("model.norm.weight", {s.hidden}, Kind::norm);
  add("lm_head.weight", {s.vocab, s.hidden}, Kind::matrix);
  return out;
}

Json model_config(const SyntheticSpec& s) {
  const char* dtype = s.dtype == StDType::BF16 ? "bfloat16" : s.dtype == StDType::F16 ? "float16" : "float32";
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", s.hidden},
          {"intermediate_size", s.intermediate},
          {"num_hidden_layers", s.layers},
          {"num_attention_heads", s.heads},
          {"num_key_value_heads", s.kv_heads},
          {"head_dim", s.hidden / s.heads},
          {"vocab_size", s.vocab},
          {"max_position_embeddings", 2048},
          {"rms_norm_eps", 1e-5},
          {"hidden_act", "silu"},
          {"tie_word_embeddings", false},
          {"torch_dtype", dtype}};
}

}  // namespace

Verdict check_synthetic_spec(const SyntheticSpec& s) {
  using detail::concat;
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"hidden", s.hidden}, {"intermediate", s.intermediate},
                                {"vocab", s.vocab}, {"heads", s.heads}, {"kv-heads", s.kv_heads}}) {
    if (v < 1 || v > kMaxSyntheticDim) {
      return Verdict::no(concat("synthetic model: ", name, " must be in 1..", kMaxSyntheticDim, ", got ", v));
    }
  }
  if (s.layers < 0 || s.layers > kMaxSyntheticLayers) {
    return Verdict::no(concat("synthetic model: layers must be in 0..", kMaxSyntheticLayers, ", got ", s.layers));
  }
  if (s.hidden % s.heads != 0) {
    return Verdict::no(concat("synthetic model: hidden (", s.hidden, ") must be a multiple of heads (", s.heads, ")"));
  }
  if (s.dtype != StDType::BF16 && s.dtype != StDType::F16 && s.dtype != StDType::F32) {
    return Verdict::no("synthetic model: dtype must be BF16, F16 or F32");
  }
  return Verdict::yes();
}

uint64_t write_synthetic_checkpoint(const fs::path& out, const SyntheticSpec& s, bool quiet) {
  const Verdict ok = check_synthetic_spec(s);
  FP8KIT_CHECK(ok.ok, ok.reason);
  std::error_code ec;
  if (fs::exists(out) && !(fs::is_directory(out) && fs::is_empty(out, ec))) {
    fail(out.string(), "", "already exists and is not an empty directory");
  }
  fs::create_directories(out, ec);
  if (ec) fail(out.string(), "", "cannot create directory: ", ec.message());

  const std::vector<Planned> tensors = plan_model(s);
  std::vector<std::vector<const Planned*>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const Planned& p : tensors) {
    const uint64_t b = tensor_nbytes(p.spec.dtype, p.spec.shape, "", p.spec.name);
    if (s.shard_bytes > 0 && in_shard > 0 && in_shard + b > s.shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&p);
    in_shard += b;
    total += b;
  }
  const bool sharded = s.shard_bytes > 0;
  auto shard_name = [&](size_t i) {
    if (!sharded) return std::string("model.safetensors");
    char buf[64];
    std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    return std::string(buf);
  };

  Rng rng(s.seed);
  const std::vector<float> normal = normal_table(rng);
  std::vector<uint8_t> buf;
  Progress progress(total, quiet);
  ShardIndex index;
  std::vector<std::unique_ptr<SafetensorsWriter>> writers;
  for (size_t i = 0; i < shards.size(); ++i) {
    std::vector<TensorSpec> specs;
    for (const Planned* p : shards[i]) specs.push_back(p->spec);
    auto w = std::make_unique<SafetensorsWriter>(out / shard_name(i), plan_safetensors(specs, {}, shard_name(i)));
    for (const Planned* p : shards[i]) {
      fill(buf, *p, normal, rng);
      w->write(p->spec.name, buf.data(), buf.size());
      index.weight_map[p->spec.name] = shard_name(i);
      progress.advance(buf.size(), p->spec.name);
    }
    w->finish();
    progress.file_done((out / shard_name(i)).string(), w->layout().file_size);
    writers.push_back(std::move(w));
  }
  for (auto& w : writers) w->commit();
  if (sharded) write_file_atomically(out / kIndexFileName, format_shard_index(index, total));
  write_file_atomically(out / "config.json", format_json(model_config(s)));
  progress.finish();
  return total;
}

}  // namespace fp8kit::checkpoint
