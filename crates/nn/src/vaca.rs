//! The VACA network (variational causal graph autoencoder; RootCLAM spec §5.1): a "disjoint"
//! graph neural network whose every edge (self-loops included) has its own weights, a one-step
//! encoder q(z | x, A) with 4 latent dims per node, a multi-step decoder p(x | z, A), per-node
//! likelihood heads, the ELBO with parent-edge dropout (spec §5.2), and the iterative
//! soft-intervention counterfactual of RootCLAM paper Eq. 2 / Algorithm 1 (spec §5.4) on
//! tensors, differentiable end to end.
//!
//! Layout: node states are kept node-major, `[n_nodes, batch, channels]`. A message-passing
//! step gathers the target and source states of every edge (`[E, batch, 2c]`), applies the
//! edge's own weights with one batched matmul against `[E, in, out]`, masks dropped or cut
//! edges, and sums the messages into their targets with the `[n_nodes, E]` incidence matrix.
//! There is no loop over rows; loops run over nodes (embeddings, heads) or steps only.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, relu, sigmoid, softmax, softplus};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::dense::Dense;
use crate::store::{NamedTensor, take};

/// The likelihood of one node (spec §5.1), which fixes its encoded width and head size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NodeLikelihood {
    /// A continuous node: the head output is the mean; log p(x) = −(x − μ)²/λ.
    Delta,
    /// A binary node: the head output is a logit.
    Bernoulli,
    /// A categorical node with `levels` one-hot columns: the head outputs logits.
    Categorical { levels: usize },
}

impl NodeLikelihood {
    /// Encoded columns of the node (and head outputs).
    pub fn width(&self) -> usize {
        match self {
            NodeLikelihood::Categorical { levels } => *levels,
            _ => 1,
        }
    }
}

/// The shape of a VACA network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VacaNetConfig {
    /// Likelihood of each node, in node order; node `i` occupies `width()` encoded columns.
    pub likelihoods: Vec<NodeLikelihood>,
    /// Causal edges `(parent, child)` by node index, without self-loops (added here).
    pub edges: Vec<(usize, usize)>,
    /// Width of the per-node input embedding (16).
    pub embed_dim: usize,
    /// Hidden width of the encoder's 2-layer edge message MLP (16).
    pub enc_hidden: usize,
    /// Latent dims per node (4).
    pub z_dim: usize,
    /// Widths of the decoder's message-passing steps (Loan [16, 16, 16]; Adult [8, 8, 8, 8]).
    pub dec_dims: Vec<usize>,
    /// Per-node residual linear maps in the encoder and every decoder step (Adult yes, Loan no).
    pub residual: bool,
    /// λ of the Delta likelihood (0.05).
    pub delta_lambda: f64,
}

impl VacaNetConfig {
    /// The reference's settings (spec §5.1) for a graph: embedding 16, encoder message MLP
    /// 32→16→2·z, z 4, decoder `dec_dims`, λ 0.05.
    pub fn new(
        likelihoods: Vec<NodeLikelihood>,
        edges: Vec<(usize, usize)>,
        dec_dims: Vec<usize>,
        residual: bool,
    ) -> Self {
        VacaNetConfig {
            likelihoods,
            edges,
            embed_dim: 16,
            enc_hidden: 16,
            z_dim: 4,
            dec_dims,
            residual,
            delta_lambda: 0.05,
        }
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.likelihoods.len()
    }

    /// Width of an encoded row.
    pub fn width(&self) -> usize {
        self.likelihoods.iter().map(NodeLikelihood::width).sum()
    }

    /// First encoded column of each node.
    pub fn offsets(&self) -> Vec<usize> {
        let mut k = 0;
        self.likelihoods
            .iter()
            .map(|l| {
                let o = k;
                k += l.width();
                o
            })
            .collect()
    }

    /// The message-passing edges: the causal edges plus one self-loop per node, in row-major
    /// order of the dense adjacency (source, then target), as the reference builds them.
    pub fn gnn_edges(&self) -> Vec<(usize, usize)> {
        let n = self.n_nodes();
        let mut e: Vec<(usize, usize)> = self
            .edges
            .iter()
            .copied()
            .filter(|(s, t)| s != t)
            .chain((0..n).map(|i| (i, i)))
            .collect();
        e.sort_unstable();
        e.dedup();
        e
    }

    /// Checks the shape: at least one node, edges within range, positive sizes.
    pub fn validate(&self) -> Result<()> {
        let n = self.n_nodes();
        if n == 0 {
            return Err(Error::invalid("VACA needs at least one node"));
        }
        for &(s, t) in &self.edges {
            if s >= n || t >= n {
                return Err(Error::invalid(format!(
                    "VACA edge {s} -> {t} names a node outside 0..{n}"
                )));
            }
        }
        if let Some(i) = self
            .likelihoods
            .iter()
            .position(|l| matches!(l, NodeLikelihood::Categorical { levels } if *levels == 0))
        {
            return Err(Error::invalid(format!(
                "VACA node {i} is categorical with no levels"
            )));
        }
        if self.embed_dim == 0 || self.enc_hidden == 0 || self.z_dim == 0 {
            return Err(Error::invalid(
                "VACA embed_dim, enc_hidden and z_dim must be positive",
            ));
        }
        if self.dec_dims.is_empty() || self.dec_dims.contains(&0) {
            return Err(Error::invalid(
                "VACA dec_dims must list at least one positive width",
            ));
        }
        if !(self.delta_lambda.is_finite() && self.delta_lambda > 0.0) {
            return Err(Error::invalid("VACA delta_lambda must be positive"));
        }
        Ok(())
    }

    /// Number of trainable parameters (spec §5.1: Loan 33,888).
    pub fn n_params(&self) -> usize {
        let e = self.gnn_edges().len();
        let n = self.n_nodes();
        let (h, c, z) = (self.embed_dim, self.enc_hidden, self.z_dim);
        let lin = |i: usize, o: usize| i * o + o;
        let embed: usize = self.likelihoods.iter().map(|l| lin(l.width(), h)).sum();
        let mut enc = e * (lin(2 * h, c) + lin(c, 2 * z));
        if self.residual {
            enc += n * lin(h, 2 * z);
        }
        let mut dec = 0;
        let mut prev = z;
        for &d in &self.dec_dims {
            dec += e * lin(2 * prev, d);
            if self.residual {
                dec += n * lin(prev, d);
            }
            prev = d;
        }
        let heads: usize = self.likelihoods.iter().map(|l| prev * l.width()).sum();
        embed + enc + dec + heads
    }

    /// Initialises the network from `rng` (PyTorch `nn.Linear` initialisation per layer and
    /// per edge: U(−1/√fan_in, 1/√fan_in)). Fails on an invalid configuration.
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R, device: &Device) -> Result<VacaNet> {
        self.validate()?;
        let n = self.n_nodes();
        let e = self.gnn_edges().len();
        let (h, c, z) = (self.embed_dim, self.enc_hidden, self.z_dim);
        let embed = self
            .likelihoods
            .iter()
            .map(|l| Dense::init(l.width(), h, true, rng, device))
            .collect();
        let enc_msg1 = EdgeLinear::init(e, 2 * h, c, true, rng, device);
        let enc_msg2 = EdgeLinear::init(e, c, 2 * z, true, rng, device);
        let enc_res = self
            .residual
            .then(|| EdgeLinear::init(n, h, 2 * z, true, rng, device));
        let mut dec = Vec::new();
        let mut dec_res = Vec::new();
        let mut prev = z;
        for &d in &self.dec_dims {
            dec.push(EdgeLinear::init(e, 2 * prev, d, true, rng, device));
            if self.residual {
                dec_res.push(EdgeLinear::init(n, prev, d, true, rng, device));
            }
            prev = d;
        }
        let heads = self
            .likelihoods
            .iter()
            .map(|l| Dense::init(prev, l.width(), false, rng, device))
            .collect();
        Ok(VacaNet {
            embed,
            enc_msg1,
            enc_msg2,
            enc_res,
            dec,
            dec_res,
            heads,
            config: self.clone(),
            graph: Graph::new(self),
        })
    }
}

/// A stack of independent linear maps, one per edge (or per node): `y_k = x_k W_k + b_k` with
/// `W` of shape `[K, in, out]` and `b` of shape `[K, 1, out]`, applied with a batched matmul to
/// `x` of shape `[K, batch, in]`.
#[derive(Module, Debug)]
pub struct EdgeLinear {
    pub weight: Param<Tensor<3>>,
    pub bias: Option<Param<Tensor<3>>>,
}

impl EdgeLinear {
    fn init<R: Rng + ?Sized>(
        k: usize,
        d_in: usize,
        d_out: usize,
        bias: bool,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (d_in.max(1) as f32).sqrt();
        let mut w = Vec::with_capacity(k * d_in * d_out);
        let mut b = Vec::with_capacity(k * d_out);
        // Edge by edge, weights then bias, as K separate nn.Linear layers would be drawn.
        for _ in 0..k {
            w.extend((0..d_in * d_out).map(|_| rng.random_range(-bound..bound)));
            if bias {
                b.extend((0..d_out).map(|_| rng.random_range(-bound..bound)));
            }
        }
        EdgeLinear {
            weight: Param::from_data(TensorData::new(w, [k, d_in, d_out]), device),
            bias: bias.then(|| Param::from_data(TensorData::new(b, [k, 1, d_out]), device)),
        }
    }

    /// `x_k W_k + b_k` for every k.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = crate::tensor::matmul(x, self.weight.val());
        match &self.bias {
            Some(b) => y + b.val(),
            None => y,
        }
    }

    fn dims(&self) -> [usize; 3] {
        self.weight.val().dims()
    }
}

/// Index structure of the message-passing graph (plain vectors; tensors are built on the
/// device of each call).
#[derive(Debug, Clone)]
struct Graph {
    n: usize,
    src: Vec<usize>,
    tgt: Vec<usize>,
    /// Descendants of each node (excluding itself), by the causal edges.
    descendants: Vec<Vec<bool>>,
}

impl Graph {
    fn new(config: &VacaNetConfig) -> Self {
        let n = config.n_nodes();
        let edges = config.gnn_edges();
        let mut children = vec![Vec::new(); n];
        for &(s, t) in &edges {
            if s != t {
                children[s].push(t);
            }
        }
        let descendants = (0..n)
            .map(|i| {
                let mut mark = vec![false; n];
                let mut stack = vec![i];
                while let Some(v) = stack.pop() {
                    for &c in &children[v] {
                        if !mark[c] {
                            mark[c] = true;
                            stack.push(c);
                        }
                    }
                }
                mark
            })
            .collect();
        Graph {
            n,
            src: edges.iter().map(|e| e.0).collect(),
            tgt: edges.iter().map(|e| e.1).collect(),
            descendants,
        }
    }

    fn n_edges(&self) -> usize {
        self.src.len()
    }
}

fn index(v: &[usize], device: &Device) -> Tensor<1, Int> {
    let data: Vec<i64> = v.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(data, [v.len()]), device)
}

/// One step of the counterfactual loop (paper Algorithm 1, lines 6–12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfAction {
    /// Soft intervention: the node takes its current value plus the action (`x̃_v + θ_v`).
    Shift,
    /// Hard intervention `do(x_v = value)`: the node's incoming edges stay cut for the rest of
    /// the loop.
    Set,
}

/// An intervention on one node, applied in the order given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CfStep {
    pub node: usize,
    pub action: CfAction,
}

/// The VACA network.
#[derive(Module, Debug)]
pub struct VacaNet {
    /// Per node: Linear(d_i → embed) + ReLU.
    pub embed: Vec<Dense>,
    /// Encoder message MLP, layer 1 per edge: concat(h_target, h_source) → hidden.
    pub enc_msg1: EdgeLinear,
    /// Encoder message MLP, layer 2 per edge: hidden → 2·z (μ and log-variance).
    pub enc_msg2: EdgeLinear,
    /// Encoder per-node residual map embed → 2·z (Adult only).
    pub enc_res: Option<EdgeLinear>,
    /// Decoder steps, one edge-specific linear message map each.
    pub dec: Vec<EdgeLinear>,
    /// Decoder per-node residual maps (empty without residual).
    pub dec_res: Vec<EdgeLinear>,
    /// Per node: Linear(dec_last → params_i), no bias.
    pub heads: Vec<Dense>,
    #[module(skip)]
    pub config: VacaNetConfig,
    #[module(skip)]
    graph: Graph,
}

/// An edge mask `[E, batch or 1, 1]`: 1 keeps an edge's message, 0 removes the edge.
pub type EdgeMask = Tensor<3>;

impl VacaNet {
    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.graph.n
    }

    /// Number of message-passing edges (self-loops included).
    pub fn n_edges(&self) -> usize {
        self.graph.n_edges()
    }

    /// True when `d` is a descendant of `v` in the causal graph.
    pub fn is_descendant(&self, v: usize, d: usize) -> bool {
        self.graph.descendants[v][d]
    }

    /// The mask of the graph with every incoming non-self edge of the `cut` nodes removed
    /// (`A` minus the parents of the intervened nodes), `[E, 1, 1]`.
    pub fn cut_mask(&self, cut: &[usize], device: &Device) -> EdgeMask {
        let e = self.n_edges();
        let m: Vec<f32> = (0..e)
            .map(|k| {
                let (s, t) = (self.graph.src[k], self.graph.tgt[k]);
                if s != t && cut.contains(&t) { 0.0 } else { 1.0 }
            })
            .collect();
        Tensor::from_data(TensorData::new(m, [e, 1, 1]), device)
    }

    /// Parent-edge dropout (spec §5.2): per row and per node, with probability `rate`, all the
    /// node's incoming non-self edges are removed. `[E, batch, 1]`.
    pub fn dropout_mask<R: Rng + ?Sized>(
        &self,
        batch: usize,
        rate: f64,
        rng: &mut R,
        device: &Device,
    ) -> EdgeMask {
        let n = self.n_nodes();
        let e = self.n_edges();
        // drop[t * batch + b]: node t of row b loses its parents.
        let drop: Vec<bool> = (0..n * batch).map(|_| rng.random::<f64>() < rate).collect();
        let mut m = vec![1.0f32; e * batch];
        for k in 0..e {
            let (s, t) = (self.graph.src[k], self.graph.tgt[k]);
            if s == t {
                continue;
            }
            for b in 0..batch {
                if drop[t * batch + b] {
                    m[k * batch + b] = 0.0;
                }
            }
        }
        Tensor::from_data(TensorData::new(m, [e, batch, 1]), device)
    }

    /// `[E, batch, 2c]`: concat(h_target, h_source) for every edge (spec §5.1: messages use
    /// concat(target, source)).
    ///
    /// The nodes are selected as rows of a `[n, batch·c]` matrix: the same values as selecting
    /// along the first axis of `[n, batch, c]`, and the gradient's scatter-add runs in burn's
    /// row-wise two-dimensional kernel instead of its per-element one for three dimensions
    /// (most of VACA's training time), adding each node's edges in the same order, so the
    /// same bits.
    fn gather(&self, h: Tensor<3>) -> Tensor<3> {
        let device = h.device();
        let [n, b, c] = h.dims();
        let rows = h.reshape([n, b * c]);
        let pick = |of: &[usize]| {
            rows.clone()
                .select(0, index(of, &device))
                .reshape([of.len(), b, c])
        };
        Tensor::cat(vec![pick(&self.graph.tgt), pick(&self.graph.src)], 2)
    }

    /// Sums the (masked) messages `[E, batch, c]` into their target nodes: `[n, batch, c]`.
    fn aggregate(&self, msgs: Tensor<3>, mask: Option<&EdgeMask>) -> Tensor<3> {
        let [e, b, c] = msgs.dims();
        let device = msgs.device();
        let msgs = match mask {
            Some(m) => msgs * m.clone(),
            None => msgs,
        };
        let n = self.n_nodes();
        let mut inc = vec![0.0f32; n * e];
        for (k, &t) in self.graph.tgt.iter().enumerate() {
            inc[t * e + k] = 1.0;
        }
        let inc = Tensor::<2>::from_data(TensorData::new(inc, [n, e]), &device);
        inc.matmul(msgs.reshape([e, b * c])).reshape([n, b, c])
    }

    /// Per-node embeddings of encoded rows `[batch, width]` → `[n, batch, embed]`.
    fn embed_nodes(&self, x: Tensor<2>) -> Tensor<3> {
        let offsets = self.config.offsets();
        let parts: Vec<Tensor<2>> = self
            .config
            .likelihoods
            .iter()
            .enumerate()
            .map(|(i, l)| relu(self.embed[i].forward(x.clone().narrow(1, offsets[i], l.width()))))
            .collect();
        Tensor::stack(parts, 0)
    }

    /// The posterior means μ of `x`'s rows under the full graph, row `of[r]` of them for row
    /// r of the result: rows that are copies of a few distinct rows are encoded once each.
    pub fn encode_repeated(&self, x: Tensor<2>, of: &[usize]) -> Tensor<3> {
        let device = x.device();
        self.encode(x, None).0.select(1, index(of, &device))
    }

    /// The encoder q(z | x, A) (spec §5.1): μ and σ = exp(logvar/2) + 1e-4, each
    /// `[n, batch, z]`, of encoded rows under the graph `mask` (`None`: the full graph).
    pub fn encode(&self, x: Tensor<2>, mask: Option<&EdgeMask>) -> (Tensor<3>, Tensor<3>) {
        let h0 = self.embed_nodes(x);
        let m = relu(self.enc_msg1.forward(self.gather(h0.clone())));
        let m = self.enc_msg2.forward(m);
        let mut out = self.aggregate(m, mask);
        if let Some(r) = &self.enc_res {
            out = out + r.forward(h0);
        }
        let z = self.config.z_dim;
        let mu = out.clone().narrow(2, 0, z);
        let sigma = out.narrow(2, z, z).mul_scalar(0.5).exp().add_scalar(1e-4);
        (mu, sigma)
    }

    /// The decoder p(x | z, A): the heads' outputs `[batch, width]` (Delta means, Bernoulli and
    /// Categorical logits) from latents `[n, batch, z]`. ReLU after every step but the last;
    /// the residual map is added before the activation.
    pub fn decode(&self, z: Tensor<3>, mask: Option<&EdgeMask>) -> Tensor<2> {
        let mut h = z;
        let steps = self.dec.len();
        for (k, layer) in self.dec.iter().enumerate() {
            let mut out = self.aggregate(layer.forward(self.gather(h.clone())), mask);
            if let Some(r) = self.dec_res.get(k) {
                out = out + r.forward(h);
            }
            h = if k + 1 < steps { relu(out) } else { out };
        }
        let [n, b, c] = h.dims();
        let parts: Vec<Tensor<2>> = (0..n)
            .map(|i| self.heads[i].forward(h.clone().narrow(0, i, 1).reshape([b, c])))
            .collect();
        Tensor::cat(parts, 1)
    }

    /// The likelihood means of decoder outputs: Delta mean, Bernoulli probability, Categorical
    /// softmax (spec §5.3: decoding always returns the mean).
    pub fn mean(&self, params: Tensor<2>) -> Tensor<2> {
        let offsets = self.config.offsets();
        let parts: Vec<Tensor<2>> = self
            .config
            .likelihoods
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let p = params.clone().narrow(1, offsets[i], l.width());
                match l {
                    NodeLikelihood::Delta => p,
                    NodeLikelihood::Bernoulli => sigmoid(p),
                    NodeLikelihood::Categorical { .. } => softmax(p, 1),
                }
            })
            .collect();
        Tensor::cat(parts, 1)
    }

    /// log p(x | z) per row `[batch]` from decoder outputs and encoded rows (spec §5.1):
    /// Delta −(x − μ)²/λ, Bernoulli x·l − softplus(l), Categorical Σ onehot ⊙ log_softmax.
    pub fn log_likelihood(&self, params: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        let offsets = self.config.offsets();
        let inv_lambda = 1.0 / self.config.delta_lambda;
        let parts: Vec<Tensor<2>> = self
            .config
            .likelihoods
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let p = params.clone().narrow(1, offsets[i], l.width());
                let t = x.clone().narrow(1, offsets[i], l.width());
                match l {
                    NodeLikelihood::Delta => (t - p).powf_scalar(2.0).mul_scalar(-inv_lambda),
                    NodeLikelihood::Bernoulli => t * p.clone() - softplus(p, 1.0),
                    NodeLikelihood::Categorical { .. } => (t * log_softmax(p, 1)).sum_dim(1),
                }
            })
            .collect();
        Tensor::cat(parts, 1).sum_dim(1).squeeze_dim(1)
    }

    /// KL(q(z | x) ‖ N(0, I)) per row `[batch]`, summed over nodes and dims.
    pub fn kl(mu: Tensor<3>, sigma: Tensor<3>) -> Tensor<1> {
        let per = (sigma.clone().powf_scalar(2.0) + mu.powf_scalar(2.0) - 1.0).mul_scalar(0.5)
            - sigma.log();
        per.sum_dim(2).sum_dim(0).squeeze_dim::<2>(0).squeeze_dim(1)
    }

    /// Standard normal draws `[n, batch, z]` from `rng`.
    pub fn draw_eps<R: Rng + ?Sized>(
        &self,
        batch: usize,
        rng: &mut R,
        device: &Device,
    ) -> Tensor<3> {
        let (n, z) = (self.n_nodes(), self.config.z_dim);
        let v: Vec<f32> = (0..n * batch * z)
            .map(|_| StandardNormal.sample(rng))
            .collect();
        Tensor::from_data(TensorData::new(v, [n, batch, z]), device)
    }

    /// −ELBO averaged over the rows (spec §5.2): one reparameterised sample z = μ + σ ⊙ ε,
    /// log-likelihood summed over nodes, KL to N(0, I), β = 1; the same graph `mask` for the
    /// encoder and the decoder.
    pub fn neg_elbo(&self, x: Tensor<2>, mask: Option<&EdgeMask>, eps: Tensor<3>) -> Tensor<1> {
        let (mu, sigma) = self.encode(x.clone(), mask);
        let z = mu.clone() + sigma.clone() * eps;
        let ll = self.log_likelihood(self.decode(z, mask), x);
        (Self::kl(mu, sigma) - ll).mean()
    }

    /// The importance-weighted bound IWAE-K per row `[batch]` with the given K draws of ε
    /// (spec §5.2 selects models on IWAE-100): log (1/K) Σ_k p(x | z_k) p(z_k) / q(z_k | x).
    pub fn iwae(&self, x: Tensor<2>, eps: &[Tensor<3>]) -> Tensor<1> {
        let (mu, sigma) = self.encode(x.clone(), None);
        let log_w: Vec<Tensor<2>> = eps
            .iter()
            .map(|e| {
                let z = mu.clone() + sigma.clone() * e.clone();
                let ll = self.log_likelihood(self.decode(z.clone(), None), x.clone());
                // log p(z) − log q(z | x): the ½log 2π terms cancel.
                let lp = z.powf_scalar(2.0).mul_scalar(-0.5);
                let lq = e.clone().powf_scalar(2.0).mul_scalar(-0.5) - sigma.clone().log();
                let d = (lp - lq)
                    .sum_dim(2)
                    .sum_dim(0)
                    .squeeze_dim::<2>(0)
                    .squeeze_dim(1);
                (ll + d).unsqueeze_dim(1)
            })
            .collect();
        let k = log_w.len().max(1) as f64;
        let w = Tensor::cat(log_w, 1);
        let m = w.clone().max_dim(1);
        ((w - m.clone()).exp().sum_dim(1).log() + m)
            .squeeze_dim(1)
            .sub_scalar(k.ln())
    }

    /// `[1, width]` mask of the encoded columns of the nodes marked in `mark`.
    fn column_mask(&self, mark: impl Fn(usize) -> bool, device: &Device) -> Tensor<2> {
        let v: Vec<f32> = self
            .config
            .likelihoods
            .iter()
            .enumerate()
            .flat_map(|(i, l)| std::iter::repeat_n(if mark(i) { 1.0 } else { 0.0 }, l.width()))
            .collect();
        let w = v.len();
        Tensor::from_data(TensorData::new(v, [1, w]), device)
    }

    /// `[n, 1, 1]` mask of one node.
    fn node_mask(&self, v: usize, device: &Device) -> Tensor<3> {
        let n = self.n_nodes();
        let m: Vec<f32> = (0..n).map(|i| if i == v { 1.0 } else { 0.0 }).collect();
        Tensor::from_data(TensorData::new(m, [n, 1, 1]), device)
    }

    /// The iterative counterfactual of paper Eq. 2 / Algorithm 1 (spec §5.4) on encoded rows
    /// `x` `[batch, width]`. For each step, in the order given (the caller passes a topological
    /// order): abduct z = μ(state) under the current graph; form x̄ = the state with node v's
    /// columns replaced by `state_v + values_v` (Shift) or `values_v` (Set); encode x̄ under the
    /// graph without v's incoming edges and take only z̄_v; decode the mixed z under that graph
    /// (likelihood means) and carry the result as the new state. `values` is `[batch, width]`
    /// in encoded units (only node v's columns are read at v's step). `z0`, if given, replaces
    /// the first abduction (a known noise vector).
    ///
    /// With `clamp` (the paper's Eq. 2 semantics), node v takes exactly its intervened value
    /// and v's non-descendants keep their current values; only descendants are re-decoded.
    /// Without it every node is re-decoded, as the reference does (spec §5.4 notes the drift
    /// this causes).
    ///
    /// Departure from the reference (spec §5.4 "Gradients"): the reference writes the
    /// intermediate state through `.data`, so only its last step is differentiable. Here every
    /// write is an ordinary tensor operation (masked sums), so gradients flow through the whole
    /// unrolled loop, to `x`, `values` and `z0`: this is the paper's end-to-end gradient.
    pub fn counterfactual_steps(
        &self,
        x: Tensor<2>,
        values: Tensor<2>,
        steps: &[CfStep],
        clamp: bool,
        z0: Option<Tensor<3>>,
    ) -> Result<Tensor<2>> {
        let n = self.n_nodes();
        let width = self.config.width();
        let [b, w] = x.dims();
        if w != width || values.dims() != [b, width] {
            return Err(Error::invalid(format!(
                "VACA counterfactual: rows are {w} wide and actions {:?}, the network expects \
                 {width} columns",
                values.dims()
            )));
        }
        if let Some(s) = steps.iter().find(|s| s.node >= n) {
            return Err(Error::invalid(format!(
                "VACA counterfactual: node {} is outside 0..{n}",
                s.node
            )));
        }
        if let Some(s) = steps.iter().find(|s| {
            s.action == CfAction::Shift && self.config.likelihoods[s.node] != NodeLikelihood::Delta
        }) {
            return Err(Error::invalid(format!(
                "VACA counterfactual: node {} is not continuous and cannot be shifted",
                s.node
            )));
        }
        let device = x.device();
        let mut state = x;
        let mut first = z0;
        let mut hard: Vec<usize> = Vec::new();
        for step in steps {
            let v = step.node;
            let cols = self.column_mask(|i| i == v, &device);
            let abduct_mask = (!hard.is_empty()).then(|| self.cut_mask(&hard, &device));
            let z_fact = match first.take() {
                Some(z) => z,
                None => self.encode(state.clone(), abduct_mask.as_ref()).0,
            };
            let target = match step.action {
                CfAction::Shift => state.clone() + values.clone(),
                CfAction::Set => values.clone(),
            };
            let keep = cols.clone().neg().add_scalar(1.0);
            let bar = state.clone() * keep + target * cols;
            if step.action == CfAction::Set {
                hard.push(v);
            }
            let mut cut = hard.clone();
            if !cut.contains(&v) {
                cut.push(v);
            }
            let mask = self.cut_mask(&cut, &device);
            let z_bar = self.encode(bar.clone(), Some(&mask)).0;
            let nm = self.node_mask(v, &device);
            let z_mix = z_fact * nm.clone().neg().add_scalar(1.0) + z_bar * nm;
            let decoded = self.mean(self.decode(z_mix, Some(&mask)));
            state = if clamp {
                let fixed = self.column_mask(|i| !self.is_descendant(v, i), &device);
                bar * fixed.clone() + decoded * fixed.neg().add_scalar(1.0)
            } else {
                decoded
            };
        }
        Ok(state)
    }

    /// Soft-intervention counterfactual for recourse (paper Eq. 2 / Algorithm 1): `x` encoded
    /// rows `[batch, width]`, `theta` actions `[batch, n_nodes]` in standardised units (zero =
    /// no action), `order` the nodes to intervene on, in topological order (the caller's
    /// root causes). Clamped semantics (see [`VacaNet::counterfactual_steps`]); differentiable
    /// end to end in `theta` and `x`. Fails when a node in `order` is not continuous.
    pub fn counterfactual_soft(
        &self,
        x: Tensor<2>,
        theta: Tensor<2>,
        order: &[usize],
    ) -> Result<Tensor<2>> {
        let n = self.n_nodes();
        let width = self.config.width();
        let [b, k] = theta.dims();
        if k != n {
            return Err(Error::invalid(format!(
                "VACA counterfactual: actions have {k} columns, the graph has {n} nodes"
            )));
        }
        // Scatter θ from node columns to encoded columns: θ [b, n] · P [n, width].
        let offsets = self.config.offsets();
        let mut p = vec![0.0f32; n * width];
        for (i, &o) in offsets.iter().enumerate() {
            p[i * width + o] = 1.0;
        }
        let device = x.device();
        let p = Tensor::<2>::from_data(TensorData::new(p, [n, width]), &device);
        let values = theta.matmul(p);
        debug_assert_eq!(values.dims(), [b, width]);
        let steps: Vec<CfStep> = order
            .iter()
            .map(|&node| CfStep {
                node,
                action: CfAction::Shift,
            })
            .collect();
        self.counterfactual_steps(x, values, &steps, true, None)
    }

    /// Weights as named tensors.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        let edge = |out: &mut Vec<NamedTensor>, name: String, l: &EdgeLinear| {
            out.push(NamedTensor::from_tensor(
                format!("{name}.weight"),
                l.weight.val(),
            ));
            if let Some(b) = &l.bias {
                out.push(NamedTensor::from_tensor(format!("{name}.bias"), b.val()));
            }
        };
        let dense = |out: &mut Vec<NamedTensor>, name: String, l: &Dense| {
            out.push(NamedTensor::from_tensor(
                format!("{name}.weight"),
                l.weight.val(),
            ));
            if let Some(b) = &l.bias {
                out.push(NamedTensor::from_tensor(format!("{name}.bias"), b.val()));
            }
        };
        for (i, l) in self.embed.iter().enumerate() {
            dense(&mut out, format!("embed.{i}"), l);
        }
        edge(&mut out, "enc_msg1".into(), &self.enc_msg1);
        edge(&mut out, "enc_msg2".into(), &self.enc_msg2);
        if let Some(r) = &self.enc_res {
            edge(&mut out, "enc_res".into(), r);
        }
        for (k, l) in self.dec.iter().enumerate() {
            edge(&mut out, format!("dec.{k}"), l);
        }
        for (k, l) in self.dec_res.iter().enumerate() {
            edge(&mut out, format!("dec_res.{k}"), l);
        }
        for (i, l) in self.heads.iter().enumerate() {
            dense(&mut out, format!("head.{i}"), l);
        }
        out
    }

    /// Rebuilds a network of shape `config` from named tensors (shapes checked).
    pub fn from_named(
        config: &VacaNetConfig,
        tensors: &mut HashMap<String, NamedTensor>,
        device: &Device,
    ) -> Result<VacaNet> {
        // Build a skeleton with the right shapes, then replace every parameter.
        let skeleton = config.init(&mut remedy_core::seed::rng(0), device)?;
        let edge = |tensors: &mut HashMap<String, NamedTensor>, name: &str, l: &EdgeLinear| {
            let d = l.dims();
            let w = take(tensors, &format!("{name}.weight"), &d)?;
            let bias = match &l.bias {
                Some(_) => {
                    let b = take(tensors, &format!("{name}.bias"), &[d[0], 1, d[2]])?;
                    Some(Param::from_data(
                        TensorData::new(b.data, [d[0], 1, d[2]]),
                        device,
                    ))
                }
                None => None,
            };
            Ok::<_, Error>(EdgeLinear {
                weight: Param::from_data(TensorData::new(w.data, d), device),
                bias,
            })
        };
        let dense = |tensors: &mut HashMap<String, NamedTensor>, name: &str, l: &Dense| {
            let [i, o] = l.shape();
            let w = take(tensors, &format!("{name}.weight"), &[i, o])?;
            let bias = match &l.bias {
                Some(_) => {
                    let b = take(tensors, &format!("{name}.bias"), &[o])?;
                    Some(Param::from_data(TensorData::new(b.data, [o]), device))
                }
                None => None,
            };
            Ok::<_, Error>(Dense {
                weight: Param::from_data(TensorData::new(w.data, [i, o]), device),
                bias,
            })
        };
        let embed = skeleton
            .embed
            .iter()
            .enumerate()
            .map(|(i, l)| dense(tensors, &format!("embed.{i}"), l))
            .collect::<Result<_>>()?;
        let enc_msg1 = edge(tensors, "enc_msg1", &skeleton.enc_msg1)?;
        let enc_msg2 = edge(tensors, "enc_msg2", &skeleton.enc_msg2)?;
        let enc_res = match &skeleton.enc_res {
            Some(r) => Some(edge(tensors, "enc_res", r)?),
            None => None,
        };
        let dec = skeleton
            .dec
            .iter()
            .enumerate()
            .map(|(k, l)| edge(tensors, &format!("dec.{k}"), l))
            .collect::<Result<_>>()?;
        let dec_res = skeleton
            .dec_res
            .iter()
            .enumerate()
            .map(|(k, l)| edge(tensors, &format!("dec_res.{k}"), l))
            .collect::<Result<_>>()?;
        let heads = skeleton
            .heads
            .iter()
            .enumerate()
            .map(|(i, l)| dense(tensors, &format!("head.{i}"), l))
            .collect::<Result<_>>()?;
        if let Some(extra) = tensors.keys().next() {
            return Err(Error::invalid(format!(
                "VACA weights hold an unexpected tensor '{extra}'"
            )));
        }
        Ok(VacaNet {
            embed,
            enc_msg1,
            enc_msg2,
            enc_res,
            dec,
            dec_res,
            heads,
            config: config.clone(),
            graph: skeleton.graph,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{from_flat, to_flat};
    use remedy_core::seed;

    /// The Loan graph (spec §3.1): G, A, E, L, D, I, S with 11 edges; G Bernoulli.
    pub(crate) fn loan_config() -> VacaNetConfig {
        let (g, a, e, l, d, i, s) = (0, 1, 2, 3, 4, 5, 6);
        let edges = vec![
            (g, e),
            (g, l),
            (g, d),
            (g, i),
            (a, e),
            (a, l),
            (a, d),
            (a, i),
            (e, i),
            (l, d),
            (i, s),
        ];
        let mut lik = vec![NodeLikelihood::Delta; 7];
        lik[0] = NodeLikelihood::Bernoulli;
        VacaNetConfig::new(lik, edges, vec![16, 16, 16], false)
    }

    fn small_config() -> VacaNetConfig {
        // a -> b -> c, a -> c, k categorical child of a, bin binary root.
        VacaNetConfig::new(
            vec![
                NodeLikelihood::Delta,
                NodeLikelihood::Delta,
                NodeLikelihood::Delta,
                NodeLikelihood::Categorical { levels: 3 },
                NodeLikelihood::Bernoulli,
            ],
            vec![(0, 1), (1, 2), (0, 2), (0, 3), (4, 2)],
            vec![8, 8],
            true,
        )
    }

    #[test]
    fn loan_parameter_count_is_33888() {
        let cfg = loan_config();
        assert_eq!(cfg.gnn_edges().len(), 18);
        assert_eq!(cfg.n_params(), 33_888);
        let net = cfg.init(&mut seed::rng(0), &crate::cpu()).unwrap();
        assert_eq!(net.num_params(), 33_888);
        // Residual variant: the formula and the module agree too.
        let small = small_config();
        let net = small.init(&mut seed::rng(0), &crate::cpu()).unwrap();
        assert_eq!(net.num_params(), small.n_params());
    }

    /// The reference's Adult graph, income node included (spec §3.3): 63,432 parameters
    /// (spec §5.1, "computed with the same formulas").
    #[test]
    fn adult_parameter_count_matches_the_spec() {
        use NodeLikelihood::{Bernoulli, Categorical, Delta};
        let cat = |levels| Categorical { levels };
        let lik = vec![
            cat(3),
            Delta,
            cat(4),
            Bernoulli,
            Delta,
            Delta,
            cat(4),
            cat(3),
            cat(3),
            cat(3),
            Delta,
        ];
        let (r, a, n, s, e, h, w, m, o, l, i) = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        let parents: [(usize, &[usize]); 7] = [
            (e, &[r, a, n, s]),
            (h, &[r, a, n, s, e]),
            (w, &[a, n, e, h]),
            (m, &[r, a, n, s, h, w]),
            (o, &[r, a, s, e, w, m]),
            (l, &[a, n, s, e, m]),
            (i, &[r, a, n, s, e, h, w, m, o, l]),
        ];
        let edges: Vec<(usize, usize)> = parents
            .iter()
            .flat_map(|(c, ps)| ps.iter().map(move |&p| (p, *c)))
            .collect();
        assert_eq!(edges.len(), 40);
        let cfg = VacaNetConfig::new(lik, edges, vec![8, 8, 8, 8], true);
        assert_eq!(cfg.n_params(), 63_432);
        let net = cfg.init(&mut seed::rng(0), &crate::cpu()).unwrap();
        assert_eq!(net.num_params(), 63_432);
    }

    fn rows(n: usize, seed_: u64) -> Tensor<2> {
        // Encoded rows of small_config: 3 continuous, one-hot of 3, one binary.
        let mut rng = seed::rng(seed_);
        let mut v = Vec::new();
        for _ in 0..n {
            for _ in 0..3 {
                v.push(rng.random_range(-1.0f32..1.0));
            }
            let k = rng.random_range(0..3);
            v.extend((0..3).map(|j| if j == k { 1.0 } else { 0.0 }));
            v.push(if rng.random::<bool>() { 1.0 } else { 0.0 });
        }
        from_flat(v, n, 7, &crate::cpu())
    }

    #[test]
    fn same_seed_same_bits_and_masks_cut_edges() {
        let cfg = small_config();
        let dev = crate::cpu();
        let a = cfg.init(&mut seed::rng(5), &dev).unwrap();
        let b = cfg.init(&mut seed::rng(5), &dev).unwrap();
        let x = rows(6, 1);
        let (ma, _) = a.encode(x.clone(), None);
        let (mb, _) = b.encode(x.clone(), None);
        assert_eq!(to_flat(ma.clone()), to_flat(mb));
        // Cutting node 2's parents makes z_2 depend on x_2 only: changing x_0 leaves it.
        let mask = a.cut_mask(&[2], &dev);
        let (z1, _) = a.encode(x.clone(), Some(&mask));
        let bump = from_flat(vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 1, 7, &dev);
        let (z2, _) = a.encode(x + bump, Some(&mask));
        let z1 = to_flat(z1.narrow(0, 2, 1));
        let z2 = to_flat(z2.narrow(0, 2, 1));
        assert_eq!(z1, z2);
        // The ELBO is finite, and IWAE-20 is not below the ELBO averaged over the same draws.
        let mut r = seed::rng(2);
        let eps: Vec<Tensor<3>> = (0..20).map(|_| a.draw_eps(6, &mut r, &dev)).collect();
        let x = rows(6, 1);
        let elbo = -eps
            .iter()
            .map(|e| crate::tensor::scalar(a.neg_elbo(x.clone(), None, e.clone())))
            .sum::<f64>()
            / 20.0;
        let iw = crate::tensor::scalar(a.iwae(x, &eps).mean());
        assert!(elbo.is_finite() && iw.is_finite());
        assert!(iw >= elbo - 1e-3, "IWAE {iw} < ELBO {elbo}");
    }

    #[test]
    fn dropout_mask_removes_whole_parent_sets() {
        let cfg = small_config();
        let dev = crate::cpu();
        let net = cfg.init(&mut seed::rng(5), &dev).unwrap();
        let m = to_flat(net.dropout_mask(2000, 0.2, &mut seed::rng(3), &dev));
        let edges = cfg.gnn_edges();
        let e = edges.len();
        // Node 2 has parents 0, 1, 4: their three edges are dropped together, self-loop kept.
        let into2: Vec<usize> = (0..e)
            .filter(|&k| edges[k].1 == 2 && edges[k].0 != 2)
            .collect();
        let self2 = edges.iter().position(|&x| x == (2, 2)).unwrap();
        let mut dropped = 0;
        for b in 0..2000 {
            let vals: Vec<f32> = into2.iter().map(|&k| m[k * 2000 + b]).collect();
            assert!(vals.iter().all(|&v| v == vals[0]));
            dropped += usize::from(vals[0] == 0.0);
            assert_eq!(m[self2 * 2000 + b], 1.0);
        }
        let rate = dropped as f64 / 2000.0;
        assert!((rate - 0.2).abs() < 0.03, "{rate}");
    }

    #[test]
    fn named_tensors_round_trip() {
        let cfg = small_config();
        let dev = crate::cpu();
        let a = cfg.init(&mut seed::rng(5), &dev).unwrap();
        let mut t: HashMap<String, NamedTensor> = a
            .named_tensors()
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let b = VacaNet::from_named(&cfg, &mut t, &dev).unwrap();
        let x = rows(4, 9);
        let (za, _) = a.encode(x.clone(), None);
        let (zb, _) = b.encode(x, None);
        assert_eq!(to_flat(a.decode(za, None)), to_flat(b.decode(zb, None)));
        let mut t: HashMap<String, NamedTensor> = HashMap::new();
        assert!(VacaNet::from_named(&cfg, &mut t, &dev).is_err());
    }

    /// With clamping, non-descendants of the intervened node keep their values and the
    /// intervened node takes exactly x + θ.
    #[test]
    fn soft_counterfactual_clamps_and_rejects_bad_nodes() {
        let cfg = small_config();
        let dev = crate::cpu();
        let net = cfg.init(&mut seed::rng(5), &dev).unwrap();
        let x = rows(3, 4);
        let theta = from_flat([0.0, 0.7, 0.0, 0.0, 0.0].repeat(3), 3, 5, &dev);
        let cf = to_flat(
            net.counterfactual_soft(x.clone(), theta.clone(), &[1])
                .unwrap(),
        );
        let xf = to_flat(x.clone());
        for r in 0..3 {
            // node 0 (col 0), node 3 (cols 3..6), node 4 (col 6) are non-descendants of 1.
            for c in [0, 3, 4, 5, 6] {
                assert_eq!(cf[r * 7 + c], xf[r * 7 + c]);
            }
            assert!((cf[r * 7 + 1] - xf[r * 7 + 1] - 0.7).abs() < 1e-6);
        }
        assert!(
            net.counterfactual_soft(x.clone(), theta.clone(), &[3])
                .is_err()
        );
        assert!(net.counterfactual_soft(x, theta, &[9]).is_err());
    }

    /// The unrolled counterfactual's gradient in θ matches central finite differences.
    #[test]
    fn soft_counterfactual_gradient_matches_finite_differences() {
        let cfg = small_config();
        let plain = crate::cpu();
        let ad = crate::autodiff(&plain);
        let net = cfg.init(&mut seed::rng(11), &ad).unwrap();
        let xs = to_flat(rows(2, 8));
        let theta0: Vec<f32> = vec![0.3, -0.4, 0.0, 0.0, 0.0, -0.2, 0.5, 0.0, 0.0, 0.0];
        let weights: Vec<f32> = (0..14).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3).collect();
        let order = [0, 1];
        let loss = |th: &[f32], track: bool| {
            let x = from_flat(xs.clone(), 2, 7, &ad);
            let mut t = from_flat(th.to_vec(), 2, 5, &ad);
            if track {
                t = t.require_grad();
            }
            let cf = net.counterfactual_soft(x, t.clone(), &order).unwrap();
            let w = from_flat(weights.clone(), 2, 7, &ad);
            ((cf * w).sum(), t)
        };
        let (l, t) = loss(&theta0, true);
        let grads = l.backward();
        let g = to_flat(t.grad(&grads).unwrap());
        let h = 1e-2f32;
        for k in [0usize, 1, 5, 6] {
            let mut p = theta0.clone();
            p[k] += h;
            let mut m = theta0.clone();
            m[k] -= h;
            let fd = (crate::tensor::scalar(loss(&p, false).0)
                - crate::tensor::scalar(loss(&m, false).0))
                / (2.0 * f64::from(h));
            let an = f64::from(g[k]);
            assert!(
                (fd - an).abs() < 2e-2 * (1.0 + fd.abs()),
                "θ[{k}]: analytic {an}, finite difference {fd}"
            );
        }
        // θ of the first step reaches the output through the later step as well.
        assert!(g[0] != 0.0 && g[1] != 0.0);
    }
}
