// magcnn.train: magcnn-train's run (train_run.h, the same code), with keyword arguments for its flags
// and a Python callable for progress.
#include <chrono>
#include <csignal>
#include <string>

#include "bindings.h"
#include "magcnn/config.h"
#include "py_common.h"
#include "train_run.h"

namespace magcnn::py_binding {
namespace {

// A Ctrl-C that Python delivers inside the callback (its handlers run whenever Python code does) stops
// training as one seen between steps does: with a checkpoint. Any other exception propagates.
void call_progress(const py::object& progress, const py::dict& event) {
  try {
    progress(event);
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_KeyboardInterrupt)) throw;
    InterruptPollScope::request(SIGINT);
  }
}

template <class T>
void set_if_given(std::optional<T>& target, const py::object& value, const char* name, const char* expected) {
  if (!value.is_none()) target = cast_argument<T>(value, name, expected);
}

py::dict train(py::object config, const std::string& out, const std::string& data, const std::string& device, bool resume,
               py::object epochs, py::object batch_size, py::object learning_rate, py::object target_loss, py::object weight_decay,
               py::object target, py::object schedule, py::object field_axis, py::object seed, py::object fresh_data,
               py::object ensemble, py::object noise_rms, py::object noise_background, py::object noise_tesla,
               py::object noise_Ms_A_per_m, py::object progress, bool quiet) {
  app::TrainRequest request;
  if (config.is_none()) {
    const std::string path = default_config_path();
    request.base = path.empty() ? default_config() : load_config(path);
  } else {
    request.base = load_config(cast_argument<std::string>(config, "config", "a configuration file's path or None"));
  }
  MAGCNN_REQUIRE(!out.empty(), "out=: the run folder to write (or, with resume=True, to continue)");
  request.out = out;
  request.device = device;
  request.data = data;
  request.data_given = data != "generated";
  request.resume = resume;
  request.spell = python_spelling;
  const auto whole = [](const char* name, const py::object& v, int64_t lo, int64_t hi) -> std::optional<int64_t> {
    if (v.is_none()) return std::nullopt;
    const int64_t x = whole_argument(v, name);
    MAGCNN_REQUIRE(x >= lo && x <= hi, name << "=" << x << ": from " << lo << " to " << hi);
    return x;
  };
  const auto number = [](const char* name, const py::object& v, double lo, double hi) -> std::optional<double> {
    if (v.is_none()) return std::nullopt;
    const auto x = cast_argument<double>(v, name, "a number");
    MAGCNN_REQUIRE(x >= lo && x <= hi, name << "=" << x << ": from " << lo << " to " << hi);
    return x;
  };
  // The program's flag ranges.
  request.epochs = whole("epochs", epochs, 1, int64_t{1} << 30);
  request.batch_size = whole("batch_size", batch_size, 1, int64_t{1} << 20);
  request.ensemble = whole("ensemble", ensemble, 1, 1000);
  request.learning_rate = number("learning_rate", learning_rate, 1e-12, 1e3);
  request.target_loss = number("target_loss", target_loss, 0, 1e30);
  request.weight_decay = number("weight_decay", weight_decay, 0, 1);
  set_if_given(request.target, target, "target", "a string");
  set_if_given(request.schedule, schedule, "schedule", "a string");
  set_if_given(request.field_axis, field_axis, "field_axis", "a string");
  set_if_given(request.fresh_data, fresh_data, "fresh_data", "True or False");
  if (!seed.is_none()) request.seed = seed_argument(seed, "seed");
  if (request.target) parse_target_kind(*request.target);
  set_if_given(request.noise.relative_rms, noise_rms, "noise_rms", "a number");
  set_if_given(request.noise.background, noise_background, "noise_background", "a number");
  set_if_given(request.noise.tesla_rms, noise_tesla, "noise_tesla", "a number");
  set_if_given(request.noise.Ms_A_per_m, noise_Ms_A_per_m, "noise_Ms_A_per_m", "a number");

  app::TrainHooks hooks;
  hooks.progress_bars = false;
  if (!quiet) {
    py::object print = py::module_::import("builtins").attr("print");
    hooks.say = [print](const std::string& line) {
      py::gil_scoped_acquire gil;
      try {
        print(text(line), py::arg("flush") = true);
      } catch (py::error_already_set& e) {
        // A Ctrl-C delivered inside print (a Python-level stdout: Jupyter, pytest) stops training as
        // one between steps does; a stdout that fails otherwise does not end the run.
        if (e.matches(PyExc_KeyboardInterrupt)) InterruptPollScope::request(SIGINT);
      }
    };
  }
  if (!progress.is_none()) {
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    hooks.step = [progress, last](int64_t member, int64_t epoch, int64_t step, int64_t steps) {
      // At most five a second, and the last step of every epoch.
      const auto now = std::chrono::steady_clock::now();
      if (step != steps && now - *last < std::chrono::milliseconds(200)) return;
      *last = now;
      py::gil_scoped_acquire gil;
      py::dict event;
      event["kind"] = "step";
      event["member"] = member;
      event["epoch"] = epoch;
      event["step"] = step;
      event["steps"] = steps;
      call_progress(progress, event);
    };
    hooks.epoch = [progress](int64_t member, const EpochRecord& r) {
      py::gil_scoped_acquire gil;
      py::dict event = epoch_record(r);
      event["kind"] = "epoch";
      event["member"] = member;
      call_progress(progress, event);
    };
  }
  const app::TrainOutcome outcome = released([&] {
    const std::lock_guard<std::recursive_mutex> one_at_a_time(hdf5_calls());
    return app::train_run(request, hooks);
  });
  py::dict result;
  result["models"] = outcome.models;
  py::list last;
  for (const EpochRecord& r : outcome.last) last.append(epoch_record(r));
  result["last_epoch"] = last;
  result["reached"] = outcome.reached;
  return result;
}

}  // namespace

py::dict epoch_record(const EpochRecord& r) {
  py::dict d;
  d["epoch"] = r.epoch;
  d["train_mse"] = r.train_mse;
  d["validation_mse"] = r.validation_mse;
  d["seconds"] = r.seconds;
  return d;
}

std::string python_spelling(const std::string& flag) {
  std::string s = flag.rfind("--", 0) == 0 ? flag.substr(2) : flag;
  for (char& c : s)
    if (c == '-') c = '_';
  if (s == "lr") s = "learning_rate";
  if (s == "resume") return "resume=True";
  if (s == "noise_Ms") s = "noise_Ms_A_per_m";
  return s + "=";
}

void bind_train(py::module_& m) {
  m.def("train", &train, py::arg("config") = py::none(), py::kw_only(), py::arg("out"), py::arg("data") = "generated",
        py::arg("device") = "auto", py::arg("resume") = false, py::arg("epochs") = py::none(), py::arg("batch_size") = py::none(),
        py::arg("learning_rate") = py::none(), py::arg("target_loss") = py::none(), py::arg("weight_decay") = py::none(),
        py::arg("target") = py::none(), py::arg("schedule") = py::none(), py::arg("field_axis") = py::none(),
        py::arg("seed") = py::none(), py::arg("fresh_data") = py::none(), py::arg("ensemble") = py::none(),
        py::arg("noise_rms") = py::none(), py::arg("noise_background") = py::none(), py::arg("noise_tesla") = py::none(),
        py::arg("noise_Ms_A_per_m") = py::none(), py::arg("progress") = py::none(), py::arg("quiet") = false,
        R"(Trains the seed's network as magcnn-train does (the same code, the same numbers) into the run folder `out`.

config: a configuration file's path, or None (configs/seed.toml, as the program without --config).
data: a training set (HDF5) or "generated" ([data] of the configuration, generated here). Every other
keyword is the program's flag of the same name, over the configuration: epochs, batch_size,
learning_rate (--lr), target_loss, weight_decay, target, schedule, field_axis, seed, fresh_data,
ensemble, noise_rms, noise_background, noise_tesla, noise_Ms_A_per_m; resume=True continues the run
in `out` from its last checkpoint. progress: called with a dict per event, {"kind": "step", "member",
"epoch", "step", "steps"} (at most five a second) and {"kind": "epoch", "member", "epoch",
"train_mse", "validation_mse", "seconds"}; an exception it raises stops training (the last epoch's
checkpoint stays). The program's lines are printed unless quiet. Releases the GIL; Ctrl-C writes a
checkpoint and raises KeyboardInterrupt saying so (continue with resume=True).

Returns {"models": [model.h5 of the run or of each member], "last_epoch": [their last epoch's dict],
"reached": whether every one reached target_loss}.)");
}

}  // namespace magcnn::py_binding
