//! Key parameters derived from the `[training]` section rather than copied field by
//! field: a training node's key holds the whole section less the fields the node
//! declares it never reads. A field added to the section therefore enters every
//! training node's key until a node declares it unread; forgetting to list it costs a
//! cache miss, never a stale hit.

use anyhow::{anyhow, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// What one node reads of a config section.
pub(super) struct SectionReads {
    /// The section's fields the node never reads.
    pub unread: &'static [&'static str],
    /// Fields the key spells otherwise, `(field, name in the key)`: the names the keys
    /// had before they were derived, kept so that existing caches stay valid.
    pub renamed: &'static [(&'static str, &'static str)],
}

/// The baseline pre-training reads the SGD recipe and its own epochs and learning rate.
pub(super) const BASELINE_READS: SectionReads = SectionReads {
    unread: &[
        "strategy",
        "finetune_lr",
        "finetune_lr_decay",
        "conv_noise_scale",
        "fc_noise_scale",
        "eval_draws",
        "majority_vote",
        "max_memory_gib",
    ],
    renamed: &[("baseline_epochs", "epochs"), ("baseline_lr", "lr")],
};

/// The fine-tuning reads the strategy, the SGD recipe, its learning-rate schedule and
/// the noise scales; the baseline it starts from is an input node.
pub(super) const FINETUNE_READS: SectionReads = SectionReads {
    unread: &[
        "baseline_epochs",
        "baseline_lr",
        "eval_draws",
        "majority_vote",
        "max_memory_gib",
    ],
    renamed: &[("finetune_lr", "lr"), ("finetune_lr_decay", "lr_decay")],
};

/// The noisy inference reads the draws, the vote and the batch size; the checkpoint it
/// evaluates (and so the whole training recipe) is an input node.
pub(super) const EVAL_READS: SectionReads = SectionReads {
    unread: &[
        "strategy",
        "momentum",
        "weight_decay",
        "augment",
        "baseline_epochs",
        "baseline_lr",
        "finetune_lr",
        "finetune_lr_decay",
        "conv_noise_scale",
        "fc_noise_scale",
        "max_memory_gib",
    ],
    renamed: &[("eval_draws", "draws")],
};

/// The key parameters `reads` derives from `section` (serialised as a map), with the
/// node's own parameters `extra` (the fidelity, the design's cell resolution) added.
pub(super) fn derive(
    section: &impl Serialize,
    reads: &SectionReads,
    extra: &[(&str, Value)],
) -> Result<Value> {
    let Value::Object(fields) = serde_json::to_value(section)? else {
        return Err(anyhow!("a key's config section must serialise as a map"));
    };
    derive_from_map(fields, reads, extra)
}

fn derive_from_map(
    fields: Map<String, Value>,
    reads: &SectionReads,
    extra: &[(&str, Value)],
) -> Result<Value> {
    let mut key = Map::new();
    for (field, value) in fields {
        if reads.unread.contains(&field.as_str()) {
            continue;
        }
        let name = reads
            .renamed
            .iter()
            .find(|(from, _)| *from == field)
            .map_or(field.as_str(), |(_, to)| to);
        key.insert(name.to_string(), value);
    }
    for (name, value) in extra {
        let clash = key.insert((*name).to_string(), value.clone());
        if clash.is_some() {
            return Err(anyhow!(
                "key parameter {name} is also a field of the section"
            ));
        }
    }
    Ok(Value::Object(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache::KeyInput;
    use stages::training::params::TrainingParams;

    fn key_of(fields: Map<String, Value>, reads: &SectionReads) -> cache::CacheKey {
        let params = derive_from_map(fields, reads, &[("epochs_or_bits", Value::from(3))]);
        KeyInput::new("node", 1, &params.unwrap(), vec![], 0)
            .unwrap()
            .key()
    }

    fn training_fields() -> Map<String, Value> {
        match serde_json::to_value(TrainingParams::default()).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!("TrainingParams is a struct"),
        }
    }

    #[test]
    fn a_new_training_field_changes_every_training_key_without_touching_the_nodes() {
        for reads in [&BASELINE_READS, &FINETUNE_READS, &EVAL_READS] {
            let before = key_of(training_fields(), reads);
            let mut grown = training_fields();
            grown.insert("a_new_knob".into(), Value::from(0.5));
            assert_ne!(key_of(grown, reads), before);
        }
    }

    #[test]
    fn every_unread_or_renamed_name_is_a_training_field() {
        let fields = training_fields();
        for reads in [&BASELINE_READS, &FINETUNE_READS, &EVAL_READS] {
            let named = reads
                .unread
                .iter()
                .chain(reads.renamed.iter().map(|r| &r.0));
            for name in named {
                assert!(fields.contains_key(*name), "{name} is not a training field");
            }
        }
    }

    #[test]
    fn an_unread_field_leaves_the_key_and_a_read_one_moves_it() {
        let base = key_of(training_fields(), &EVAL_READS);
        let mut lr = training_fields();
        lr.insert("finetune_lr".into(), Value::from(0.123));
        assert_eq!(key_of(lr, &EVAL_READS), base);
        let mut draws = training_fields();
        draws.insert("eval_draws".into(), Value::from(17));
        assert_ne!(key_of(draws, &EVAL_READS), base);
    }

    #[test]
    fn a_node_parameter_may_not_shadow_a_field() {
        let err = derive_from_map(
            training_fields(),
            &BASELINE_READS,
            &[("epochs", Value::from(1))],
        )
        .unwrap_err();
        assert!(err.to_string().contains("epochs"), "{err}");
    }
}
