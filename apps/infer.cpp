// magcnn-infer: magnetization maps from measured stray-field maps with a model from magcnn-train, each
// checked against its field with the exact forward model. Maps stream through in chunks: the next chunk
// is read and the last one written (one I/O thread, HDF5 being single-threaded) while this one is
// computed.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <future>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "cli.h"
#include "infer_report.h"
#include "magcnn/atomic_output.h"
#include "magcnn/communicator.h"
#include "magcnn/inference.h"
#include "magcnn/inference_io.h"
#include "magcnn/interrupt.h"
#include "magcnn/memory.h"
#include "magcnn/progress.h"

namespace {

using namespace magcnn;
namespace fs = std::filesystem;
using Direction = std::optional<std::array<double, 3>>;

std::array<double, 3> unit_vector(double theta, double phi) {
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

// One chunk of maps in flight: its input, truth and prediction (an ensemble's mean, and its spread).
struct Chunk {
  int64_t first = 0, count = 0;
  std::vector<float> field, truth, prediction, spread;
};

// A model file --model names, and the ensemble folder it was found in (empty for a file or a single
// run's folder) with the members found there.
struct ModelSource {
  std::string path, ensemble_folder;
  int64_t members_found = 0;
};

// The model files --model names: files as given; a run folder gives its model.h5, or, for an ensemble
// (magcnn-train --ensemble), its members' member_K/model.h5 in order.
std::vector<ModelSource> model_files(const std::vector<std::string>& given) {
  std::vector<ModelSource> files;
  for (const std::string& g : given) {
    std::error_code ec;
    if (!fs::is_directory(g, ec)) {
      files.push_back(ModelSource{g, "", 0});
      continue;
    }
    if (fs::exists(fs::path(g) / "model.h5", ec)) {
      files.push_back(ModelSource{(fs::path(g) / "model.h5").string(), "", 0});
      continue;
    }
    int64_t found = 0;
    while (fs::exists(app::ensemble_member_folder(g, found + 1) / "model.h5", ec)) ++found;
    MAGCNN_REQUIRE(found > 0, "--model " << g << " is a folder without model.h5 or member_1/model.h5: give a model file or a run folder");
    for (int64_t k = 1; k <= found; ++k) files.push_back(ModelSource{(app::ensemble_member_folder(g, k) / "model.h5").string(), g, found});
  }
  return files;
}

// An ensemble interrupted while training holds fewer members than it was made for, or one stopped
// mid-epoch: used as it is, it would be another ensemble than the one asked for.
void require_whole_ensemble(const ModelSource& source, const ModelFile& m) {
  if (source.ensemble_folder.empty()) return;
  MAGCNN_REQUIRE(m.config.training.ensemble == source.members_found && m.state.step_in_epoch == 0,
                 "--model " << source.ensemble_folder << ": " << source.path
                            << (m.state.step_in_epoch != 0 ? " was stopped in the middle of an epoch"
                                                           : " belongs to an ensemble of " + std::to_string(m.config.training.ensemble) +
                                                                 " members, of which " + std::to_string(source.members_found) + " are there")
                            << ": finish it with magcnn-train --resume --out " << source.ensemble_folder);
}

// Adds `values` to an ensemble's running sums (float maps, double sums).
void accumulate(const std::vector<float>& values, std::size_t count, std::vector<double>& sum, std::vector<double>& squares) {
  for (std::size_t i = 0; i < count; ++i) {
    sum[i] += values[i];
    squares[i] += double(values[i]) * values[i];
  }
}

// The truth from magnetization maps (magcnn-forward's input, --truth): |m| of every map (for a vector
// model, mx, my and mz as they are) and its mean direction, which is its direction when the map is
// collinear.
class TruthMaps {
 public:
  TruthMaps(const std::string& path, const FieldMapsInfo& in, bool vector) : file_(path), vector_(vector) {
    MAGCNN_REQUIRE(file_.count() == in.n && file_.ny() == in.ny && file_.nx() == in.nx,
                   "--truth " << path << " holds " << file_.count() << " map(s) of " << file_.ny() << " x " << file_.nx()
                              << "; --in holds " << in.n << " of " << in.ny << " x " << in.nx);
  }
  // truth: [count, 3, ny, nx] for a vector model, else [count, ny, nx].
  void read(int64_t first, int64_t count, float* truth, Direction* directions) {
    const auto values = static_cast<std::size_t>(count * file_.ny() * file_.nx());
    for (std::vector<double>* c : {&mx_, &my_, &mz_}) c->resize(values);
    file_.read(first, count, mx_.data(), my_.data(), mz_.data());
    const std::size_t plane = values / static_cast<std::size_t>(count);
    for (int64_t i = 0; i < count; ++i) {
      double s[3] = {0, 0, 0};
      const std::size_t map = static_cast<std::size_t>(i) * plane;
      for (std::size_t p = map; p < map + plane; ++p) {
        if (vector_) {
          float* out = truth + 3 * map + (p - map);
          out[0] = static_cast<float>(mx_[p]);
          out[plane] = static_cast<float>(my_[p]);
          out[2 * plane] = static_cast<float>(mz_[p]);
        } else {
          truth[p] = static_cast<float>(std::sqrt(mx_[p] * mx_[p] + my_[p] * my_[p] + mz_[p] * mz_[p]));
        }
        s[0] += mx_[p];
        s[1] += my_[p];
        s[2] += mz_[p];
      }
      const double norm = std::sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
      directions[i] = norm > 0 ? Direction(std::array<double, 3>{s[0] / norm, s[1] / norm, s[2] / norm}) : std::nullopt;
    }
  }

 private:
  MagnetizationFile file_;
  bool vector_;
  std::vector<double> mx_, my_, mz_;
};


// The input files: --in's, then --in-list's lines (blank lines and lines starting with # skipped;
// relative paths are relative to the list's folder).
std::vector<std::string> input_files(const std::vector<std::string>& given, const std::string& list) {
  std::vector<std::string> files = given;
  if (list.empty()) return files;
  std::ifstream text(list);
  MAGCNN_REQUIRE(text.good() && !fs::is_directory(list), "--in-list " << list << " cannot be read: give a text file of input paths, one a line");
  const fs::path base = fs::path(list).parent_path();
  std::string line;
  for (int64_t number = 1; std::getline(text, line); ++number) {
    const std::size_t first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const std::string path = line.substr(first, last - first + 1);
    MAGCNN_REQUIRE(path.find('\0') == std::string::npos, "--in-list " << list << ", line " << number << ": not a path");
    files.push_back(fs::path(path).is_absolute() ? path : (base / path).string());
  }
  MAGCNN_REQUIRE(!text.bad(), "--in-list " << list << ": reading failed");
  return files;
}

// Each input's prediction in the folder `out`: its file name with .h5 (maps/a.npy -> OUT/a.h5). Two
// inputs of one name would write one file: refused.
std::vector<std::string> outputs_in_folder(const std::vector<std::string>& files, const std::string& out) {
  std::vector<std::string> outs;
  std::map<std::string, std::string> taken;  // output -> the input that writes it
  for (const std::string& f : files) {
    const std::string o = (fs::path(out) / fs::path(f).filename().replace_extension(".h5")).string();
    const auto [where, fresh] = taken.emplace(o, f);
    MAGCNN_REQUIRE(fresh, "--in: " << where->second << " and " << f << " would both write " << o
                                   << ": give the inputs different names (the folder is not part of the output's name)");
    outs.push_back(o);
  }
  return outs;
}

// Whole files to ranks: the largest (in `sizes`) first, each to the rank with the least so far (ties to
// the lower rank). The same on every rank, which all read every file's size.
std::vector<int> assign_files(const std::vector<double>& sizes, int ranks) {
  std::vector<std::size_t> order(sizes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
  std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
  std::vector<int> owner(sizes.size(), 0);
  for (const std::size_t i : order) {
    const auto least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = least;
    load[static_cast<std::size_t>(least)] += sizes[i];
  }
  return owner;
}

// A text to rank `to` (its length, then its bytes) and from rank `from`: an empty one says "no failure".
void send_text(Communicator& world, const std::string& text, int to) {
  const int64_t size = static_cast<int64_t>(text.size());
  world.send(&size, sizeof size, to);
  if (size > 0) world.send(text.data(), text.size(), to);
}
std::string receive_text(Communicator& world, int from) {
  int64_t size = 0;
  world.receive(&size, sizeof size, from);
  std::string text(static_cast<std::size_t>(std::max<int64_t>(size, 0)), ' ');
  if (size > 0) world.receive(text.data(), text.size(), from);
  return text;
}

// A failing rank other than 0 sends its message to rank 0, which ends the run with it, and waits for that
// end: a rank that exited by itself would have the launcher kill rank 0 at once, before it removes its
// temporary file. Returns only if rank 0 never ends it (it does not send).
void tell_rank_0_and_wait(Communicator& world, const std::string& message) {
  send_text(world, message, 0);
  int64_t never = 0;
  world.receive(&never, sizeof never, 0);
}

// The ranks have agreed that some failed (`failure`: this rank's, or null): rank 0 throws every failing
// rank's message (its own Interrupted as it is: a stop every rank got); the others send theirs to it
// and wait to be ended by it, so that none exits on its own and has the launcher end rank 0 mid-way.
// `outcome` ends the message ("no prediction written").
[[noreturn]] void end_with_failures(Communicator& world, const std::exception_ptr& failure, const std::string& outcome) {
  std::string text;
  bool stopped = false;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const Interrupted& e) {
      stopped = true;
      text = e.what();
    } catch (const std::exception& e) {
      text = e.what();
    }
  }
  if (world.size() == 1) {
    if (failure) std::rethrow_exception(failure);
    throw Error("a run of one process ended for another rank's failure");
  }
  if (world.rank() != 0) {
    tell_rank_0_and_wait(world, text);
    throw Error("rank " + std::to_string(world.rank()) + " was not ended by rank 0");
  }
  // Each message once, with the ranks that gave it (every rank alike, say, for a file none can read).
  std::vector<std::pair<std::string, std::vector<int>>> messages;
  const auto add = [&](const std::string& m, int r) {
    if (m.empty()) return;
    const auto same = std::find_if(messages.begin(), messages.end(), [&](const auto& e) { return e.first == m; });
    if (same != messages.end()) {
      same->second.push_back(r);
    } else {
      messages.push_back({m, {r}});
    }
  };
  add(text, 0);
  for (int r = 1; r < world.size(); ++r) add(receive_text(world, r), r);
  if (stopped) std::rethrow_exception(failure);
  throw_if_interrupted();  // the signal every rank got: reported as the stop it is
  std::string all;
  for (const auto& [m, ranks] : messages) {
    std::string who;
    if (static_cast<int>(ranks.size()) < world.size()) {
      for (std::size_t k = 0; k < ranks.size(); ++k) who += (k == 0 ? "" : k + 1 == ranks.size() ? " and " : ", ") + std::to_string(ranks[k]);
      who = (ranks.size() > 1 ? "ranks " : "rank ") + who + " of " + std::to_string(world.size()) + ": ";
    }
    all += (all.empty() ? "" : "\n  ") + who + m;
  }
  throw InvalidInput(all + "\n  (" + outcome + ")");
}

// Runs `work` on every rank and agrees on its outcome: where it failed on any rank, each rank runs
// `undo` (what it must remove before any rank ends) and the run ends through rank 0 (end_with_failures).
void together(Communicator& world, const std::string& outcome, const std::function<void()>& work, const std::function<void()>& undo = {}) {
  std::exception_ptr failure;
  try {
    work();
  } catch (const std::exception&) {
    failure = std::current_exception();
  }
  if (world.all(!failure)) return;
  if (undo) undo();
  end_with_failures(world, failure, outcome);
}

// What every input file's prediction shares: the flags, the models and the backend.
struct Run {
  app::Common common;               // its `out` is each file's own
  Config config;
  std::vector<std::string> model_paths;
  std::vector<ModelFile> members;
  std::vector<std::string> inputs;  // every input file, model and truth: no output may replace one
  FieldMapsOptions read_options;
  const app::GeometryFlags* geometry = nullptr;
  std::string truth_path;
  int64_t batch = 256, tile = 0, png_limit = 16;
  bool png = false, no_residual = false;
  std::function<Backend&()> backend;  // opened on first use, after the first input has been read
};

// One input's prediction on rank 0: the file finished under its temporary name, and its report, whose
// summary and figures come once the file is in place.
struct FilePrediction {
  std::unique_ptr<PredictionWriter> writer;
  std::unique_ptr<app::InferenceReport> report;
  app::Common common;  // with the file's own --out
};

// The maps of `in`, predicted into `out` by the ranks of `world` (each its share of the maps, rank 0
// writing them all). Returns rank 0's prediction, for the caller to publish and report; empty on the
// other ranks. `ready` (when set) runs once everything is read, checked and allocated, before the
// first map is predicted.
FilePrediction predict_file(const Run& run, const std::string& in, const std::string& out, Communicator* world,
                            const std::function<void()>& ready = {}) {
  app::Common common = run.common;
  common.out = out;
  const std::vector<std::string>& inputs = run.inputs;
  const std::string& truth_path = run.truth_path;
  const int64_t batch = run.batch, tile = run.tile, png_limit = run.png_limit;
  const bool png = run.png, no_residual = run.no_residual;
  const std::vector<ModelFile>& members = run.members;
  const std::vector<std::string>& model_paths = run.model_paths;
  const ModelFile& model = members.front();
  const int64_t K = static_cast<int64_t>(members.size());
  const bool vector_model = model.config.data.target == TargetKind::Vector;
  const int rank = world->rank(), ranks = world->size();
  FieldMapsReader reader(in, run.read_options);
  FieldMapsInfo info = reader.info();
  std::unique_ptr<TruthMaps> truth_file;
  if (!truth_path.empty()) {
    truth_file = std::make_unique<TruthMaps>(truth_path, info, vector_model);
    info.has_truth = true;
    info.truth_target = vector_model ? "vector" : "shape";
    info.truth_channels = vector_model ? 3 : 1;
  }
  MAGCNN_REQUIRE(info.unit, in << " does not say the unit of its field: give --unit T or --unit G");
  const int64_t n = info.n, plane = info.ny * info.nx;
  const int64_t figures = png ? std::min(n, png_limit) : 0;
  // The figures go beside --out: none may replace an input or the prediction itself.
  std::vector<std::string> taken = inputs;
  taken.push_back(common.out);
  for (int64_t i = 0; i < figures; ++i) {
    const std::string figure = app::figure_path(common.out, i, n);
    MAGCNN_REQUIRE(fs::absolute(figure).lexically_normal() != fs::absolute(common.out).lexically_normal(),
                   "--png: the figure " << figure << " would replace --out " << common.out << ": give --out a name ending in .h5");
    check_output_path(figure, taken);
  }

  MapGrid grid;
  grid.ny = info.ny;
  grid.nx = info.nx;
  grid.normalized = *info.unit == MapUnit::Normalized;
  grid.axis = info.axis;
  if (grid.normalized) {
    const std::vector<const CLI::Option*> given = run.geometry->given();
    MAGCNN_REQUIRE(given.empty(), given.front()->get_name() << " does not apply to " << in
                                                             << ": a training set is on the model's grid already");
    grid.geometry = FilmGeometry{info.pixel_size_over_standoff, 1.0, info.thickness_over_standoff, 1.0};
  } else {
    grid.geometry = run.geometry->resolve(info.attributes, run.config.forward, in);
    grid.tesla_per_unit = tesla_per(*info.unit);
  }
  Backend* backend = &run.backend();

  InferenceOptions options;
  options.predictor.max_batch = batch;
  options.predictor.tile = tile;
  options.predictor.expected_maps = n;
  options.residual = !no_residual;
  // One Inference per member; the first also evaluates the residual, of the ensemble's mean.
  std::vector<std::unique_ptr<Inference>> made;
  try {
    for (int64_t k = 0; k < K; ++k) {
      InferenceOptions o = options;
      o.residual = options.residual && k == 0;
      o.residual_in_run = K == 1;
      made.push_back(std::make_unique<Inference>(*backend, members[static_cast<std::size_t>(k)], grid, o));
    }
  } catch (const InvalidInput& e) {
    throw InvalidInput(in + ": " + e.what());
  }
  Inference& inference = *made.front();

  char line[512];
  std::snprintf(line, sizeof line, "%lld map(s) of %lld x %lld from %s (%s, %s)", static_cast<long long>(n),
                static_cast<long long>(info.ny), static_cast<long long>(info.nx), in.c_str(), info.format.c_str(),
                map_unit_name(*info.unit));
  app::say(common, line);
  if (!grid.normalized) {
    const FilmGeometry& g = grid.geometry;
    const double model_t = model.config.data.thickness_over_standoff, t = g.thickness_m / g.standoff_m;
    std::snprintf(line, sizeof line, "geometry: h = %.4g m, d = %.4g m (%.3g h), t = %.4g m (%.3g d), Ms = %.4g A/m",
                  g.pixel_size_m, g.standoff_m, g.standoff_m / g.pixel_size_m, g.thickness_m, t, g.Ms_A_per_m);
    app::say(common, line);
    if (g.pixel_size_m > 4 * g.standoff_m) {
      std::snprintf(line, sizeof line,
                    "note: a pixel of these maps is %.3g standoffs: the model's grid (1 pixel = d) is that much finer, and "
                    "the network sees interpolated data there",
                    g.pixel_size_m / g.standoff_m);
      app::say(common, line);
    }
    if (t > 2 * model_t || t < 0.5 * model_t) {
      std::snprintf(line, sizeof line, "note: the model was trained for t/d = %.3g; these maps have t/d = %.3g", model_t, t);
      app::say(common, line);
    }
  }
  if (!info.note.empty()) app::say(common, "note: " + info.note);
  app::say(common, "resampling: " + inference.describe_resampling());
  app::say(common, "network: " + inference.predictor().describe());
  if (K > 1) app::say(common, "ensemble: " + std::to_string(K) + " models; the prediction is their mean, with its spread per pixel");
  const std::string residual_note = inference.computes_residual() ? "" : "not computed (--no-residual)";
  if (!residual_note.empty()) app::say(common, "physics residual: " + residual_note);
  // The truth is compared when it is what the model predicts.
  const std::string target = target_kind_name(model.config.data.target);
  const bool compare = info.has_truth && info.truth_target == target;
  if (info.has_truth && !compare)
    app::say(common, "note: " + in + " holds a " + info.truth_target + " truth; the model predicts " + target + ": no MSE");

  std::vector<Direction> directions(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < info.theta.size(); ++i) directions[i] = unit_vector(info.theta[i], info.phi[i]);

  PredictionHeader header;
  header.n = n;
  header.ny = info.ny;
  header.nx = info.nx;
  header.batched = info.batched;
  header.target = target;
  header.physical = !grid.normalized;
  header.geometry = grid.geometry;
  header.input = fs::absolute(in).lexically_normal().string();
  header.input_format = info.format;
  header.input_unit = map_unit_name(*info.unit);
  header.model.clear();
  for (const std::string& p : model_paths) header.model += (header.model.empty() ? "" : "; ") + fs::absolute(p).lexically_normal().string();
  header.ensemble = K;
  const NetworkConfig& nc = model.config.network;
  std::snprintf(line, sizeof line,
                "target %s; base_channels %lld, depth %lld, kernel %lld, %s/%s; trained %lld epochs on %s (%s), validation MSE %.4g",
                target.c_str(), static_cast<long long>(nc.base_channels), static_cast<long long>(nc.depth),
                static_cast<long long>(nc.kernel_size), nc.activation.c_str(), nc.output_activation.c_str(),
                static_cast<long long>(model.state.epoch), model.data.c_str(), model.device.c_str(),
                model.state.history.empty() ? 0.0 : model.state.history.back().validation_mse);
  header.model_summary = line;
  if (K > 1) header.model_summary += "; the first of an ensemble of " + std::to_string(K);
  header.resampling = inference.describe_resampling();
  // Rank 0 alone writes (every rank's predictions, in order); the others send theirs to it.
  std::unique_ptr<PredictionWriter> writer;
  if (rank == 0) writer = std::make_unique<PredictionWriter>(common.out, header, inputs);

  // Chunks of about 16 MB of maps (at least one pass), two in flight.
  const int64_t pass = inference.maps_per_pass(), channels = inference.channels(), truth_channels = info.truth_channels;
  const int64_t chunk = std::min(n, inference.maps_per_chunk());
  const bool keep_truth = info.has_truth;
  // The chunks, the truth file's doubles for one chunk, and the maps kept for figures.
  const double chunk_bytes =
      2.0 * static_cast<double>(chunk * plane) * sizeof(float) *
          static_cast<double>(1 + channels * (K > 1 ? 2 : 1) + (keep_truth ? truth_channels : 0)) +
      (K > 1 ? static_cast<double>(chunk * plane * channels) * (sizeof(float) + 2 * sizeof(double)) : 0.0) +
      (truth_file ? 3.0 * static_cast<double>(chunk * plane) * sizeof(double) : 0.0) +
      static_cast<double>(figures * plane) * sizeof(float) * static_cast<double>(1 + channels + truth_channels);
  require_memory(chunk_bytes, host_memory_available(), "two chunks of " + std::to_string(chunk) + " maps");
  app::FigureSettings figure_settings;
  figure_settings.maps = figures;
  figure_settings.out = common.out;
  figure_settings.input_name = fs::path(in).filename().string();
  figure_settings.physical = !grid.normalized;
  figure_settings.field_to_mT = grid.tesla_per_unit * 1e3;
  figure_settings.pixel = grid.normalized ? grid.geometry.pixel_size_m : grid.geometry.pixel_size_m * 1e9;
  figure_settings.target = model.config.data.target;
  auto report_owner = std::make_unique<app::InferenceReport>(n, info.ny, info.nx, channels, inference.computes_residual(), compare,
                                                             figure_settings);
  app::InferenceReport& report = *report_owner;

  Chunk chunks[2];
  for (Chunk& c : chunks) {
    c.field.resize(static_cast<std::size_t>(chunk * plane));
    c.prediction.resize(c.field.size() * static_cast<std::size_t>(channels));
    if (K > 1) c.spread.resize(c.prediction.size());
    if (keep_truth) c.truth.resize(c.field.size() * static_cast<std::size_t>(truth_channels));
  }
  // Maps [first, min(first + chunk, end)) into c.
  const auto load = [&](Chunk& c, int64_t first, int64_t end) {
    c.first = first;
    c.count = std::min(chunk, end - first);
    reader.read(first, c.count, c.field.data(), keep_truth && !truth_file ? c.truth.data() : nullptr);
    if (truth_file) truth_file->read(first, c.count, c.truth.data(), directions.data() + first);
  };
  const auto store = [&](const Chunk& c) { writer->append(c.prediction.data(), c.count, K > 1 ? c.spread.data() : nullptr); };
  // An ensemble's members, one after the other, into running sums: the mean and the spread.
  std::vector<float> member;
  std::vector<double> sum, squares;
  if (K > 1) {
    member.resize(static_cast<std::size_t>(chunk * plane * channels));
    sum.resize(member.size());
    squares.resize(member.size());
  }

  // The shards: rank r predicts maps [shard(r), shard(r + 1)), whole passes each, so that every map
  // goes through the network in the same pass position as in one process (the same bits).
  const auto shard = [&](int r) { return r >= ranks ? n : std::min(n, n * r / ranks / pass * pass); };
  const int64_t own_first = shard(rank), own_end = shard(rank + 1);
  // Each chunk a rank sends starts with a status: ok, or the message of what failed there.
  const auto send_chunk = [&](const Chunk& c) {
    send_text(*world, "", 0);
    const auto values = static_cast<std::size_t>(c.count * channels * plane);
    world->send(c.prediction.data(), values * sizeof(float), 0);
    if (K > 1) world->send(c.spread.data(), values * sizeof(float), 0);
    if (!report.residuals().empty())
      world->send(report.residuals().data() + c.first, static_cast<std::size_t>(c.count) * sizeof(ResidualReport), 0);
  };
  // Rank 0 takes another rank's chunk: its predictions from that rank, the maps themselves (for the
  // report, the figures and the MSE) from the files.
  const auto receive_chunk = [&](int from, Chunk& c, int64_t first, int64_t end) {
    const std::string failure = receive_text(*world, from);
    if (!failure.empty()) {
      throw_if_interrupted();  // the signal every rank got: reported as the stop it is
      throw InvalidInput("rank " + std::to_string(from) + " of " + std::to_string(ranks) + ": " + failure);
    }
    load(c, first, end);
    const auto values = static_cast<std::size_t>(c.count * channels * plane);
    world->receive(c.prediction.data(), values * sizeof(float), from);
    if (K > 1) world->receive(c.spread.data(), values * sizeof(float), from);
    if (!report.residuals().empty())
      world->receive(report.residuals().data() + first, static_cast<std::size_t>(c.count) * sizeof(ResidualReport), from);
  };

  if (ready) ready();
  Progress progress("infer", n, "maps", !common.quiet);
  bool sent_all = rank == 0;
  try {
    if (own_first < own_end) load(chunks[0], own_first, own_end);
    int64_t k = 0;
    for (int64_t first = own_first; first < own_end; first += chunk, ++k) {
      throw_if_interrupted();
      Chunk& c = chunks[k % 2];
      Chunk& other = chunks[(k + 1) % 2];
      const int64_t next = first + chunk;
      // The other chunk: written (it was computed last round), then refilled with the next maps.
      std::future<void> io = std::async(std::launch::async, [&, k, next] {
        if (k > 0 && rank == 0) store(other);
        if (next < own_end) load(other, next, own_end);
      });
      ResidualReport* reports = report.residuals().empty() ? nullptr : report.residuals().data() + first;
      try {
        if (K == 1) {
          inference.run(c.field.data(), c.count, directions.data() + first, c.prediction.data(), reports, first);
        } else {
          const auto values = static_cast<std::size_t>(c.count * channels * plane);
          std::fill(sum.begin(), sum.begin() + static_cast<std::ptrdiff_t>(values), 0.0);
          std::fill(squares.begin(), squares.begin() + static_cast<std::ptrdiff_t>(values), 0.0);
          for (const auto& m : made) {
            throw_if_interrupted();
            m->run(c.field.data(), c.count, directions.data() + first, member.data(), nullptr, first);
            accumulate(member, values, sum, squares);
          }
          for (std::size_t i = 0; i < values; ++i) {
            const double mean = sum[i] / static_cast<double>(K);
            c.prediction[i] = static_cast<float>(mean);
            c.spread[i] = static_cast<float>(std::sqrt(std::max(0.0, squares[i] / static_cast<double>(K) - mean * mean)));
          }
          if (reports) inference.residuals(c.field.data(), c.count, directions.data() + first, c.prediction.data(), reports);
        }
      } catch (const InvalidInput& e) {
        io.wait();
        throw InvalidInput(in + ": " + e.what());
      }
      io.get();  // its errors surface here
      if (rank == 0) {
        report.add(first, c.count, c.field.data(), c.prediction.data(), compare ? c.truth.data() : nullptr,
                   K > 1 ? c.spread.data() : nullptr);
      } else {
        send_chunk(c);  // from this thread: MPI is called from the main thread only
      }
      progress.update(first + c.count - own_first);
    }
    if (rank == 0 && own_first < own_end) store(chunks[(k - 1) % 2]);
    sent_all = true;
    // Rank 0 then writes the other ranks' shards, in order.
    for (int r = 1; rank == 0 && r < ranks; ++r) {
      for (int64_t first = shard(r); first < shard(r + 1); first += chunk) {
        throw_if_interrupted();
        Chunk& c = chunks[0];
        receive_chunk(r, c, first, shard(r + 1));
        report.add(first, c.count, c.field.data(), c.prediction.data(), compare ? c.truth.data() : nullptr,
                   K > 1 ? c.spread.data() : nullptr);
        store(c);
        progress.update(first + c.count);
      }
    }
  } catch (const std::exception& e) {
    // A rank that fails tells rank 0, which then ends the run with that message and no output.
    if (!sent_all) tell_rank_0_and_wait(*world, e.what());
    throw;
  }
  progress.finish();
  if (rank != 0) return {};
  if (K > 1 && compare) {
    const app::SpreadAgreement a = report.spread_agreement();
    writer->set_figure("spread_error_correlation", a.all, "Pearson correlation over every pixel of the members' spread with |mean - truth|");
    writer->set_figure("spread_error_correlation_film", a.film,
                      "the same over the pixels where the truth is not zero (the film)");
  }
  writer->finish(report.residuals(), residual_note, report.mse());
  return FilePrediction{std::move(writer), std::move(report_owner), common};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reconstructs the magnetization of a thin film from stray-field maps Bz with a model from magcnn-train. Inputs: "
               "HDF5 (Bz [H, W] or [N, H, W] with attributes unit, pixel_size_m, standoff_m, thickness_m, Ms_A_per_m; a "
               "training set from magcnn-generate as it is), NumPy .npy, or 8-bit grayscale PNG with --range. Each map is "
               "resampled onto the model's grid (1 pixel = the standoff d), normalized, predicted whole (tiled when large), "
               "resampled back, and forwarded with the exact model to report how well the prediction explains the field. "
               "Several inputs (--in A B ..., --in-list) give one prediction each in the folder --out, all written or none.",
               "magcnn-infer"};
  app::Common common;
  app::add_common_flags(app, common, true);
  std::string in_list, unit_text, truth_path;
  std::vector<std::string> in_files, model_args;
  std::vector<double> range;
  int64_t batch = 256, tile = 0, png_limit = 16;
  bool png = false, no_residual = false;
  app.add_option("--model", model_args,
                 "a model file from magcnn-train (RUN_DIR/model.h5) or its run folder; several (repeat the flag, or an ensemble's run "
                 "folder): their mean and its spread")
      ->required()
      ->take_all();
  app.add_option("--in", in_files,
                 "field maps: HDF5, .npy or PNG; several files: a prediction of each, named after it, in the folder --out");
  app.add_option("--in-list", in_list, "a text file of input paths, one a line (# comments; relative to the list's folder): as several --in");
  app.add_option("--unit", unit_text, "T | G | normalized: the unit of the maps, over the file's attribute")
      ->check(CLI::IsMember({"T", "G", "normalized"}));
  app.add_option("--range", range, "MIN MAX: the field of a PNG's black and white, in gauss")->expected(2);
  app::GeometryFlags geometry;
  geometry.add(app);
  app.add_option("--truth", truth_path,
                 "magnetization maps (mx, my, mz; HDF5) the field was made from: reports the MSE against |m| (a vector model: against m)");
  app.add_option("--batch-size", batch, "maps (or tiles) per network pass")->check(app::integer_range(1, int64_t{1} << 20));
  app.add_option("--tile", tile, "tile side in model pixels (a multiple of 4); 0: whole maps when they fit in memory")
      ->check(app::integer_range(0, int64_t{1} << 20));
  app.add_flag("--png", png, "also write a figure per map (field, prediction, truth) beside --out");
  app.add_option("--png-limit", png_limit, "figures for at most this many maps")->check(app::integer_range(1, int64_t{1} << 20));
  app.add_flag("--no-residual", no_residual, "skip the physics residual (the forward model on every map)");

  // Under mpirun (or srun), one rank of a sharded run: with one input each rank predicts its share of
  // the maps and rank 0 writes them all; with several each rank takes whole files. Alone otherwise.
  const std::unique_ptr<Communicator> world = make_world_communicator();
  const int rank = world->rank(), ranks = world->size();
  const int code = app::run(app, argc, argv, [&] {
    if (rank != 0) common.quiet = true;
    // What each rank reads and checks before any output exists. The ranks agree on it, so that one that
    // fails alone (a file its machine does not see) ends the run through rank 0 with its message.
    Run run;
    std::vector<std::string> files, outs;
    bool several = false;
    together(*world, "nothing written", [&] {
      files = input_files(in_files, in_list);
      MAGCNN_REQUIRE(!files.empty(), "no input: give --in FILE (or several), or --in-list LIST");
      several = files.size() > 1 || !in_list.empty();
      MAGCNN_REQUIRE(truth_path.empty() || !several,
                     "--truth pairs with one input; " << files.size() << " are given (predict the file with a truth on its own)");
      MAGCNN_REQUIRE(tile % 4 == 0, "--tile " << tile << ": a tile side must be a multiple of 4 (the network's two 2 x 2 pools)");
      run.config = app::load_config(common);
      const std::vector<ModelSource> sources = model_files(model_args);
      for (const ModelSource& s : sources) run.model_paths.push_back(s.path);
      run.inputs = files;
      run.inputs.insert(run.inputs.end(), run.model_paths.begin(), run.model_paths.end());
      if (!truth_path.empty()) run.inputs.push_back(truth_path);
      std::error_code ec;
      if (several) {
        MAGCNN_REQUIRE(!fs::exists(common.out, ec) || fs::is_directory(common.out, ec),
                       "--out " << common.out << " is a file: with several inputs --out names the folder their predictions go into");
        outs = outputs_in_folder(files, common.out);
      } else {
        if (check_output_path(common.out, run.inputs)) app::say(common, "replacing the existing file " + common.out);
      }
      for (const ModelSource& source : sources) {
        const std::string& p = source.path;
        run.members.push_back(load_model(p));
        require_whole_ensemble(source, run.members.back());
        const ModelFile& a = run.members.front();
        const ModelFile& b = run.members.back();
        MAGCNN_REQUIRE(a.config.data.target == b.config.data.target && same_axis(parse_field_axis(a.config.data.field_axis),
                                                                                 parse_field_axis(b.config.data.field_axis)),
                       "--model: " << p << " predicts the " << target_kind_name(b.config.data.target) << " target from the field along "
                                   << parse_field_axis(b.config.data.field_axis).describe() << ", " << run.model_paths.front()
                                   << " the " << target_kind_name(a.config.data.target) << " target along "
                                   << parse_field_axis(a.config.data.field_axis).describe() << ": an ensemble's members predict the same");
      }
    });
    run.common = common;
    if (!unit_text.empty()) run.read_options.unit = parse_map_unit(unit_text);
    if (!range.empty()) run.read_options.png_range_G = std::make_pair(range[0], range[1]);
    run.geometry = &geometry;
    run.truth_path = truth_path;
    run.batch = batch;
    run.tile = tile;
    run.png_limit = png_limit;
    run.png = png;
    run.no_residual = no_residual;
    std::unique_ptr<Backend> backend;
    run.backend = [&]() -> Backend& {
      if (!backend) backend = app::open_backend(common);
      return *backend;
    };

    if (!several) {
      // The ranks agree that each is ready before the first map: one that failed before (an input it
      // cannot see, its GPU's memory) ends the run through rank 0 with its message, rather than exit
      // and have the launcher kill rank 0 while it holds its temporary file.
      struct AnotherRankFailed {};
      bool agreed = false;
      FilePrediction p;
      try {
        p = predict_file(run, files.front(), common.out, world.get(), [&] {
          agreed = true;
          if (ranks > 1 && !world->all(true)) throw AnotherRankFailed{};
        });
      } catch (const AnotherRankFailed&) {
        end_with_failures(*world, nullptr, "no output written");
      } catch (const std::exception&) {
        if (agreed || ranks == 1) throw;
        world->all(false);
        end_with_failures(*world, std::current_exception(), "no output written");
      }
      if (!p.writer) return;  // another rank's share, sent to rank 0
      throw_if_interrupted();
      p.writer->publish();
      p.report->finish(p.common);  // the summary and the figures, once the prediction is in place
      app::say(common, "wrote " + common.out);
      return;
    }

    // Several inputs: a prediction of each in the folder --out, whole files to each rank by their size
    // in bytes (every rank reads every file's size, so that all assign the files alike, and opens only
    // its own), and every prediction renamed into place only when all ranks have written all theirs.
    // Each rank opens its own files first, so that a damaged one ends the run before any prediction,
    // and the ranks share their map counts, which the figures' names and the summary need.
    std::vector<double> bytes(files.size(), 0.0), counts(files.size(), 0.0);
    for (std::size_t f = 0; f < files.size(); ++f) {
      std::error_code ec;
      const auto size = fs::file_size(files[f], ec);
      if (!ec) bytes[f] = static_cast<double>(size);  // else the owner's reader says what is wrong
    }
    const std::vector<int> owner = assign_files(bytes, ranks);
    together(*world, "nothing written", [&] {
      for (std::size_t f = 0; f < files.size(); ++f)
        if (owner[f] == rank) counts[f] = static_cast<double>(FieldMapsReader(files[f], run.read_options).info().n);
    });
    world->sum(counts.data(), static_cast<int64_t>(counts.size()));
    together(*world, "nothing written", [&] {
      std::map<std::string, std::string> names;  // every output and figure -> the input that writes it
      for (std::size_t f = 0; f < files.size(); ++f) {
        const auto n = static_cast<int64_t>(counts[f]);
        std::vector<std::string> mine{outs[f]};
        for (int64_t k = 0; png && k < std::min(n, png_limit); ++k) mine.push_back(app::figure_path(outs[f], k, n));
        for (const std::string& name : mine) {
          const auto [where, fresh] = names.emplace(name, files[f]);
          MAGCNN_REQUIRE(fresh || where->second == files[f],
                         "--png: " << where->second << " and " << files[f] << " would both write " << name << ": rename one of them");
        }
      }
    });
    char line[256];
    std::snprintf(line, sizeof line, "%zu input files, %.0f maps in all%s", files.size(), std::accumulate(counts.begin(), counts.end(), 0.0),
                  ranks > 1 ? (", whole files to each of " + std::to_string(ranks) + " ranks (the largest first)").c_str() : "");
    app::say(common, line);
    app::MadeFolder made;
    if (rank == 0) made.make(common.out, "output folder");
    world->all(true);  // the folder is there before any rank writes into it
    together(*world, "nothing written", [&] {
      for (const std::string& o : outs)  // every output, before any work
        if (check_output_path(o, run.inputs)) app::say(common, "replacing the existing file " + o);
    });
    const std::unique_ptr<Communicator> alone = make_single_process();
    std::vector<std::unique_ptr<PredictionWriter>> written;
    std::vector<std::string> figures;  // drawn as each file finishes; removed again if the run fails
    together(
        *world, "no prediction written",
        [&] {
          for (std::size_t f = 0; f < files.size(); ++f) {
            if (owner[f] != rank) continue;
            throw_if_interrupted();
            FilePrediction p = predict_file(run, files[f], outs[f], alone.get());
            written.push_back(std::move(p.writer));
            p.report->finish(p.common);
            figures.insert(figures.end(), p.report->figures_written().begin(), p.report->figures_written().end());
          }
          throw_if_interrupted();
        },
        [&] {
          written.clear();  // their temporary files removed before any rank ends
          for (const std::string& f : figures) std::remove(f.c_str());
        });
    // A rename that fails (a file system gone read-only) leaves the set part written: said so.
    together(*world, "the predictions renamed before this failure are in " + common.out + ": the set is incomplete", [&] {
      for (const auto& w : written) w->publish();
    });
    app::say(common, "wrote " + std::to_string(files.size()) + " predictions into " + common.out);
  }, rank);
  // Rank 0 failing (or stopped) ends the others, which may be waiting to send to it; another rank that
  // fails has told rank 0, which ends the run.
  if (code != 0 && rank == 0) world->abort(code);
  return code;
}
