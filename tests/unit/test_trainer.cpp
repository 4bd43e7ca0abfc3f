// The trainer's parts: optimizers, augmentation, exact resume from a checkpoint, the
// adversarial-training example crafting, Jacobian regularization, distillation and
// TRADES losses, and strict recipe parsing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "data/synthetic_shapes.h"
#include "model/builders.h"
#include "model/layers/dense.h"
#include "model/loss.h"
#include "train/checkpoint.h"
#include "train/recipe.h"
#include "train/trainer.h"

using namespace slingshot;

namespace {

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

struct Shapes {
  Dataset train, test;
};
const Shapes& shapes() {
  static const Shapes s = [] {
    Shapes out;
    out.train = *make_shapes_dataset(1600, 16, 11);
    out.test = *make_shapes_dataset(300, 16, 12);
    return out;
  }();
  return s;
}

Graph tiny_model(uint64_t seed) {
  Graph g = build_tiny_cnn(4, {16, 16, 3}).value();
  init_params(g, seed);
  return g;
}

bool same_params(const Graph& a, const Graph& b) {
  for (int i = 1; i < a.num_nodes(); ++i) {
    const auto& pa = a.node(i).layer->params();
    const auto& pb = b.node(i).layer->params();
    for (size_t k = 0; k < pa.size(); ++k)
      if (pa[k].value.storage() != pb[k].value.storage()) return false;
  }
  return true;
}

double mean_loss(const Graph& g, const Tensor& x, const std::vector<int>& y) {
  Workspace<float> ws;
  REQUIRE(g.forward(x, ws, Mode::kInference).ok());
  return *softmax_cross_entropy<float>(ws.output(), y, nullptr);
}

}  // namespace

TEST_CASE("SGD and Adam both learn the shapes set; bad settings are refused") {
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    const std::string kind_name = optimizer_kind_name(kind);
    CAPTURE(kind_name);
    Graph g = tiny_model(1);
    TrainConfig cfg;
    cfg.epochs = 6;
    cfg.optimizer.kind = kind;
    cfg.learning_rate = kind == OptimizerKind::kAdam ? 0.01f : 0.05f;
    cfg.warmup_epochs = 0.5f;
    auto r = train(g, shapes().train, &shapes().test, cfg);
    REQUIRE(r.ok());
    CHECK(r->back().train_loss < 0.6 * r->front().train_loss);
    CHECK(r->back().val_accuracy > 0.8);  // chance is 0.25
  }
  TrainConfig bad;
  bad.warmup_epochs = 20;
  CHECK(contains(validate_train_config(bad), "warm-up"));
  bad = TrainConfig{};
  bad.optimizer.beta2 = 1.0f;
  CHECK(contains(validate_train_config(bad), "betas"));
  bad = TrainConfig{};
  bad.adversarial.method = AdversarialMethod::kPgd;
  bad.adversarial.eps = 0;
  CHECK(contains(validate_train_config(bad), "eps must be > 0"));
}

TEST_CASE("augmentation shifts, flips and jitters deterministically") {
  Tensor x({1, 3, 4, 1});
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i + 1) / 16;
  AugmentConfig c;
  c.max_shift_x = 1;
  // Find draws that shift right by one and check the content moved with zero fill.
  bool saw_shift = false;
  for (uint64_t seed = 0; seed < 20 && !saw_shift; ++seed) {
    Tensor y = x;
    Rng rng(seed);
    REQUIRE(augment_batch(y, c, rng).ok());
    if (y[0] == 0 && y[1] == x[0]) {
      saw_shift = true;
      for (int r = 0; r < 3; ++r) {
        CHECK(y[r * 4] == 0.0f);
        for (int col = 1; col < 4; ++col) CHECK(y[r * 4 + col] == x[r * 4 + col - 1]);
      }
    }
  }
  CHECK(saw_shift);
  c.brightness = 0.2f;
  c.contrast = 0.2f;
  Tensor a = x, b = x;
  Rng r1(5), r2(5);
  REQUIRE(augment_batch(a, c, r1).ok());
  REQUIRE(augment_batch(b, c, r2).ok());
  CHECK(a.storage() == b.storage());
  for (int64_t e = 0; e < a.numel(); ++e) CHECK((a[e] >= 0.0f && a[e] <= 1.0f));
  // Gaussian noise: the residual's spread matches the setting; draws come after the
  // others, so without noise the other augmentations draw exactly as before.
  AugmentConfig plain, noisy;
  noisy.noise = 0.05f;
  noisy.clip_to_unit = false;
  plain.clip_to_unit = false;
  Tensor big({4, 16, 16, 1}, 0.5f), clean = big;
  Rng rn(8), rp(8);
  REQUIRE(augment_batch(big, noisy, rn).ok());
  REQUIRE(augment_batch(clean, plain, rp).ok());
  double sum2 = 0;
  for (int64_t e = 0; e < big.numel(); ++e) sum2 += (big[e] - clean[e]) * (big[e] - clean[e]);
  CHECK(std::sqrt(sum2 / static_cast<double>(big.numel())) == doctest::Approx(0.05).epsilon(0.1));
  noisy.noise = 2.0f;
  CHECK(contains(augment_batch(big, noisy, rn), "noise must be in [0, 1]"));
  c.max_shift_x = 4;
  Rng r3(1);
  CHECK(contains(augment_batch(a, c, r3), "shift must be smaller"));
}

TEST_CASE("a run resumed from its checkpoint ends bit-identical to an uninterrupted run") {
  TrainConfig cfg;
  cfg.epochs = 3;
  cfg.optimizer.kind = OptimizerKind::kAdam;
  cfg.learning_rate = 0.003f;
  cfg.augment.max_shift_x = cfg.augment.max_shift_y = 1;
  cfg.qat_weights = WeightScheme::kTernary;  // stochastic draws must resume too
  cfg.seed = 9;
  Graph full = tiny_model(2);
  REQUIRE(train(full, shapes().train, nullptr, cfg).ok());

  const std::string path = "slingshot_test_resume.ckpt";
  Graph part = tiny_model(2);
  Optimizer opt(part, cfg.optimizer);
  const nlohmann::json fingerprint = {{"run", "resume-test"}};
  // Interrupt after epoch 1: the callback checkpoints, then fails like a killed run.
  auto stop_after_first = [&](const std::vector<EpochReport>& reports, const Optimizer& o) -> Status {
    SLING_RETURN_IF_ERROR(save_checkpoint(path, part, o, TrainProgress{reports.back().epoch, reports}, fingerprint));
    return invalid_argument("interrupted");
  };
  auto cut = train(part, opt, shapes().train, nullptr, cfg, {}, {}, stop_after_first);
  REQUIRE_FALSE(cut.ok());

  auto ck = load_checkpoint(path);
  REQUIRE(ck.ok());
  CHECK(ck->progress.epochs_done == 1);
  CHECK(ck->fingerprint == fingerprint);
  Graph resumed = std::move(ck->graph);
  Optimizer opt2(resumed, cfg.optimizer);
  REQUIRE(opt2.load_state(resumed, ck->optimizer_state, ck->optimizer_steps).ok());
  auto rest = train(resumed, opt2, shapes().train, nullptr, cfg, ck->progress);
  REQUIRE(rest.ok());
  CHECK(rest->size() == 3);
  CHECK(same_params(resumed, full));

  // A checkpoint must carry its optimizer state: a missing buffer is named.
  auto state = ck->optimizer_state;
  state.erase(state.begin());
  Optimizer opt3(resumed, cfg.optimizer);
  CHECK(contains(opt3.load_state(resumed, state, 1), "lacks optimizer state"));
  // A plain model file is not a checkpoint.
  REQUIRE(save_model(full, "slingshot_test_plain.safetensors").ok());
  CHECK(contains(load_checkpoint("slingshot_test_plain.safetensors").status(), "not a training checkpoint"));
  std::remove(path.c_str());
  std::remove("slingshot_test_plain.safetensors");
}

TEST_CASE("adversarial training examples stay in the eps-ball and raise the loss") {
  Graph g = tiny_model(3);
  TrainConfig pre;
  pre.epochs = 6;
  REQUIRE(train(g, shapes().train, nullptr, pre).ok());
  Tensor x;
  std::vector<int> y;
  shapes().test.slice(0, 64, x, y);
  const double clean = mean_loss(g, x, y);
  for (AdversarialMethod m : {AdversarialMethod::kPgd, AdversarialMethod::kFgsmRs, AdversarialMethod::kTrades}) {
    const std::string method_name = adversarial_method_name(m);
    CAPTURE(method_name);
    AdversarialTrainingConfig c;
    c.method = m;
    c.eps = 8.0f / 255;
    c.eps_step = m == AdversarialMethod::kFgsmRs ? 10.0f / 255 : 2.0f / 255;
    Rng rng(4);
    Tensor adv;
    REQUIRE(craft_training_examples(g, x, y, c, rng, KernelPath::kSimd, adv).ok());
    double max_dev = 0;
    for (int64_t e = 0; e < x.numel(); ++e) {
      max_dev = std::max(max_dev, static_cast<double>(std::fabs(adv[e] - x[e])));
      CHECK((adv[e] >= 0.0f && adv[e] <= 1.0f));
    }
    CHECK(max_dev <= c.eps * (1 + 1e-6));
    CHECK(max_dev > c.eps * 0.5);
    CHECK(mean_loss(g, adv, y) > clean * 1.5);
  }
  // No method: the batch comes back unchanged.
  AdversarialTrainingConfig none;
  Rng rng(1);
  Tensor same;
  REQUIRE(craft_training_examples(g, x, y, none, rng, KernelPath::kSimd, same).ok());
  CHECK(same.storage() == x.storage());
}

TEST_CASE("PGD adversarial training makes the model more robust than clean training") {
  TrainConfig clean_cfg;
  clean_cfg.epochs = 6;
  Graph clean = tiny_model(4);
  REQUIRE(train(clean, shapes().train, nullptr, clean_cfg).ok());
  TrainConfig adv_cfg = clean_cfg;
  adv_cfg.adversarial.method = AdversarialMethod::kPgd;
  adv_cfg.adversarial.eps = 12.0f / 255;
  adv_cfg.adversarial.eps_step = 4.0f / 255;
  adv_cfg.adversarial.max_iter = 3;
  Graph robust = tiny_model(4);
  REQUIRE(train(robust, shapes().train, nullptr, adv_cfg).ok());
  // Robust accuracy under the same PGD on held-out data.
  Tensor x;
  std::vector<int> y;
  shapes().test.slice(0, 300, x, y);
  auto robust_accuracy = [&](const Graph& g) {
    AdversarialTrainingConfig attack = adv_cfg.adversarial;
    attack.max_iter = 10;
    Rng rng(7);
    Tensor adv;
    REQUIRE(craft_training_examples(g, x, y, attack, rng, KernelPath::kSimd, adv).ok());
    Workspace<float> ws;
    REQUIRE(g.forward(adv, ws, Mode::kInference).ok());
    int correct = 0;
    for (int i = 0; i < 300; ++i) {
      const float* z = ws.output().data() + i * 4;
      correct += static_cast<int>(std::max_element(z, z + 4) - z) == y[i];
    }
    return correct / 300.0;
  };
  const double clean_robust = robust_accuracy(clean), adv_robust = robust_accuracy(robust);
  MESSAGE("PGD accuracy at eps 12/255: clean-trained " << clean_robust << ", PGD-trained " << adv_robust);
  CHECK(adv_robust > clean_robust + 0.1);
}

TEST_CASE("the finite-difference Jacobian penalty estimates ||J||_F^2 of a linear model") {
  // logits = W x: J = W everywhere, so the penalty is lambda / 2 * ||W||_F^2.
  Graph g({16});
  REQUIRE(g.append("fc", std::unique_ptr<Layer>(new Dense({16, 5, true}))).ok());
  init_params(g, 3);
  const Tensor& w = g.node(1).layer->params()[0].value;
  double frob = 0;
  for (int64_t e = 0; e < w.numel(); ++e) frob += static_cast<double>(w[e]) * w[e];
  Tensor x({256, 16});
  Rng data(1);
  for (int64_t e = 0; e < x.numel(); ++e) x[e] = data.uniform();
  Workspace<float> clean;
  REQUIRE(g.forward(x, clean, Mode::kTrain).ok());
  JacobianConfig c;
  c.lambda = 0.5f;
  c.projections = 16;
  Rng rng(2);
  std::vector<std::pair<int, Tensor>> seeds;
  std::vector<std::vector<Tensor>> grads(2);
  grads[1] = {Tensor(w.shape(), 0.0f), Tensor({5}, 0.0f)};
  auto penalty = jacobian_penalty_step(g, x, clean, c, rng, KernelPath::kRef, seeds, grads);
  REQUIRE(penalty.ok());
  CHECK(*penalty == doctest::Approx(0.25 * frob).epsilon(0.05));
  // Its weight gradient is lambda * W (d/dW of lambda/2 ||W||^2), up to sampling noise:
  // the seeds for the clean pass complete it.
  Workspace<float> ws = clean;
  REQUIRE(g.backward(seeds[0].second, ws, true, KernelPath::kRef).ok());
  double dot = 0, norm_g = 0;
  for (int64_t e = 0; e < w.numel(); ++e) {
    const double ge = grads[1][0][e] + ws.param_grads[1][0][e];
    dot += ge * w[e];
    norm_g += ge * ge;
  }
  CHECK(dot / std::sqrt(norm_g * frob) > 0.9);  // aligned with W
  CHECK(std::sqrt(norm_g) == doctest::Approx(0.5 * std::sqrt(frob)).epsilon(0.15));
  c.projections = 0;
  CHECK(contains(jacobian_penalty_step(g, x, clean, c, rng, KernelPath::kRef, seeds, grads).status(), "projections"));
}

TEST_CASE("Jacobian-regularized training shrinks the input-output Jacobian") {
  auto jacobian_norm = [](const Graph& g) {
    Tensor x;
    std::vector<int> y;
    shapes().test.slice(0, 100, x, y);
    Workspace<float> ws;
    REQUIRE(g.forward(x, ws, Mode::kTrain).ok());
    JacobianConfig c;
    c.lambda = 2.0f;
    c.projections = 4;
    Rng rng(3);
    std::vector<std::pair<int, Tensor>> seeds;
    std::vector<std::vector<Tensor>> grads;
    return *jacobian_penalty_step(g, x, ws, c, rng, KernelPath::kSimd, seeds, grads);
  };
  TrainConfig cfg;
  cfg.epochs = 6;
  Graph plain = tiny_model(5);
  REQUIRE(train(plain, shapes().train, nullptr, cfg).ok());
  for (JacobianMode mode : {JacobianMode::kInputOutput, JacobianMode::kPerLayer}) {
    const std::string mode_name = jacobian_mode_name(mode);
    CAPTURE(mode_name);
    TrainConfig jr = cfg;
    jr.jacobian.lambda = mode == JacobianMode::kInputOutput ? 0.01f : 0.02f;
    jr.jacobian.mode = mode;
    Graph reg = tiny_model(5);
    auto r = train(reg, shapes().train, &shapes().test, jr);
    REQUIRE(r.ok());
    CHECK(r->back().val_accuracy > 0.7);
    MESSAGE(mode_name << ": ||J||^2 plain " << jacobian_norm(plain) << ", regularized " << jacobian_norm(reg));
    CHECK(jacobian_norm(reg) < 0.7 * jacobian_norm(plain));
  }
}

TEST_CASE("distillation and KL losses have the right gradients") {
  TensorD z({2, 3}, std::vector<double>{0.3, -1.2, 2.0, 0.5, 0.1, -0.4});
  TensorD ref({2, 3}, std::vector<double>{1.0, 0.2, -0.3, -0.7, 0.9, 0.4});
  TensorD q({2, 3}, std::vector<double>{0.2, 0.3, 0.5, 0.6, 0.1, 0.3});
  TensorD grad, grad_ref;
  REQUIRE(soft_target_cross_entropy(z, q, 4.0, &grad).ok());
  REQUIRE(softmax_kl_divergence<double>(ref, z, nullptr, &grad_ref).ok());
  TensorD grad_kl;
  REQUIRE(softmax_kl_divergence(ref, z, &grad_kl).ok());
  const double h = 1e-6;
  for (int64_t e = 0; e < z.numel(); ++e) {
    TensorD zp = z, zm = z, rp = ref, rm = ref;
    zp[e] += h;
    zm[e] -= h;
    rp[e] += h;
    rm[e] -= h;
    const double fd_ce = (*soft_target_cross_entropy<double>(zp, q, 4.0, nullptr) - *soft_target_cross_entropy<double>(zm, q, 4.0, nullptr)) / (2 * h);
    const double fd_kl = (*softmax_kl_divergence<double>(ref, zp, nullptr) - *softmax_kl_divergence<double>(ref, zm, nullptr)) / (2 * h);
    const double fd_ref = (*softmax_kl_divergence<double>(rp, z, nullptr) - *softmax_kl_divergence<double>(rm, z, nullptr)) / (2 * h);
    CHECK(grad[e] == doctest::Approx(fd_ce).epsilon(1e-5));
    CHECK(grad_kl[e] == doctest::Approx(fd_kl).epsilon(1e-5));
    CHECK(grad_ref[e] == doctest::Approx(fd_ref).epsilon(1e-5));
  }
  CHECK(*softmax_kl_divergence<double>(ref, ref, nullptr) == doctest::Approx(0.0));
  CHECK(contains(soft_target_cross_entropy<double>(z, q, 0.0, nullptr).status(), "temperature"));
  CHECK(contains(softmax_kl_divergence<double>(ref, TensorD({3, 3}), nullptr).status(), "differ"));
}

TEST_CASE("TRADES and distillation train usable models") {
  Graph teacher = tiny_model(6);
  TrainConfig base;
  base.epochs = 6;
  REQUIRE(train(teacher, shapes().train, nullptr, base).ok());
  TrainConfig distill = base;
  distill.distillation.teacher = &teacher;
  distill.distillation.temperature = 10;
  Graph student = tiny_model(7);
  auto d = train(student, shapes().train, &shapes().test, distill);
  REQUIRE(d.ok());
  CHECK(d->back().val_accuracy > 0.8);
  TrainConfig trades = base;
  trades.adversarial.method = AdversarialMethod::kTrades;
  trades.adversarial.max_iter = 2;
  trades.adversarial.trades_beta = 3;
  Graph t = tiny_model(8);
  auto r = train(t, shapes().train, &shapes().test, trades);
  REQUIRE(r.ok());
  CHECK(r->back().val_accuracy > 0.7);
  Graph wrong = build_tiny_cnn(5, {16, 16, 3}).value();
  distill.distillation.teacher = &wrong;
  Graph s2 = tiny_model(7);
  CHECK(contains(train(s2, shapes().train, nullptr, distill).status(), "teacher"));
}

TEST_CASE("recipes parse strictly and name the bad key") {
  const nlohmann::json good = nlohmann::json::parse(R"({
    "name": "r", "arch": "resnet8", "epochs": 2, "batch_size": 64, "learning_rate": 0.1,
    "data": {"name": "housenum", "train": 1000, "validation": 100, "test": 200, "seed": 3},
    "optimizer": {"type": "adam", "weight_decay": 0.0001},
    "augment": {"max_shift_x": 2, "max_shift_y": 2, "brightness": 0.1, "noise": 0.02},
    "qat": {"weights": "ternary", "activations": 4},
    "adversarial": {"method": "pgd", "eps": "8/255", "eps_step": "2/255", "max_iter": 5},
    "jacobian": {"mode": "per_layer", "lambda": 0.01},
    "distillation": {"teacher": "teacher.safetensors", "temperature": 20},
    "output": "../out/r.safetensors"})");
  auto r = parse_recipe(good, "models/recipes");
  REQUIRE(r.ok());
  CHECK(r->train.optimizer.kind == OptimizerKind::kAdam);
  CHECK(r->train.adversarial.eps == doctest::Approx(8.0 / 255));
  CHECK(r->train.qat_weights == WeightScheme::kTernary);
  CHECK(r->train.qat_activation_bits == 4);
  CHECK(r->train.jacobian.mode == JacobianMode::kPerLayer);
  CHECK(r->output == "models/out/r.safetensors");
  CHECK(r->teacher == "models/recipes/teacher.safetensors");
  CHECK(r->data.validation == 100);
  CHECK(r->train.augment.noise == doctest::Approx(0.02f));

  auto with = [&](const char* pointer, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[nlohmann::json::json_pointer(pointer)] = value;
    return parse_recipe(j, "").status();
  };
  CHECK(contains(with("/epochs", 0), "'epochs' is 0, outside [1, 10000]"));
  CHECK(contains(with("/adversarial/eps", "8/zero"), "'adversarial.eps' must be a number or a fraction"));
  CHECK(contains(with("/adversarial/eps", "8/0"), "adversarial.eps"));
  CHECK(contains(with("/optimizer/typo", 1), "unknown recipe key 'optimizer.typo'"));
  CHECK(contains(with("/optimizer/type", "rmsprop"), "unknown optimizer 'rmsprop'"));
  CHECK(contains(with("/init_from", "x.safetensors"), "exactly one of 'arch'"));
  CHECK(contains(with("/data/validation", 1000), "'data.validation' must be smaller"));
  CHECK(contains(with("/qat/weights", "int3"), "int3"));
  CHECK(contains(with("/qat/activations", 9), "'qat.activations' is 9, outside [1, 8]"));
  CHECK(contains(with("/qat/activations", 4.5), "'qat.activations' must be an integer"));
  CHECK(contains(with("/jacobian/mode", "diagonal"), "unknown Jacobian"));
  CHECK(contains(with("/augment/brightness", 2), "brightness"));
  CHECK(contains(parse_recipe(nlohmann::json::array(), "").status(), "must be a JSON object"));
  CHECK(contains(load_recipe("no/such/recipe.json").status(), "no/such/recipe.json"));
}
