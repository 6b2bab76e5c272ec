//! A sign-in attempt's one read (a BatchGetItem) and one write (a TransactWriteItems whose
//! counter writes carry their guards as conditions; see [`crate::store::signin`]).
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, Update};

use super::*;
use crate::store::schema::{UsernameRecord, live};

/// A counter's [`Guard`] as parts of a condition expression: the attribute names and values
/// it uses, and `admits`, which holds while the live count is below the limit or exactly as
/// read (count and last failure).
struct GuardCondition {
    names: Vec<(&'static str, &'static str)>,
    values: Vec<(&'static str, AttributeValue)>,
    admits: String,
}

impl GuardCondition {
    fn new(guard: &Guard, now: i64) -> Self {
        let mut names = vec![("#pk", PK), ("#exp", "expires_at"), ("#c", "count")];
        let mut values = vec![(":now", n(now)), (":below", n(i64::from(guard.below)))];
        let mut admits = "#c < :below".to_string();
        if let (true, Some(read)) = (guard.or_unchanged, guard.read) {
            admits.push_str(" OR (#c = :rc AND #last = :rl)");
            names.push(("#last", "last"));
            values.push((":rc", n(i64::from(read.count))));
            values.push((":rl", n(read.last)));
        }
        Self {
            names,
            values,
            admits,
        }
    }

    /// The guard holds: the counter is absent, ended, or admits the attempt.
    fn holds(&self) -> String {
        format!(
            "attribute_not_exists(#pk) OR #exp <= :now OR {}",
            self.admits
        )
    }
}

fn unbuildable<E>(_: E) -> StoreError {
    StoreError::Unavailable("dynamodb: cannot build a counter write".into())
}

/// When a count that starts now ends.
fn window_end(window: Window, now: i64) -> i64 {
    let (Window::Fixed(len) | Window::Sliding(len)) = window;
    now.saturating_add(len.max(1))
}

/// A ConditionCheck or a Delete of the counter `pk` under `condition`'s guard (their
/// builders are alike but share no trait).
macro_rules! guarded {
    ($builder:ident, $table:expr, $pk:expr, $condition:expr) => {
        $builder::builder()
            .table_name($table)
            .set_key(Some(key($pk)))
            .condition_expression($condition.holds())
            .set_expression_attribute_names(Some(names(&$condition.names)))
            .set_expression_attribute_values(Some(values($condition.values)))
            .build()
            .map_err(unbuildable)?
    };
}

impl DynamoStore {
    /// A passkey sign-in's part in its transaction: the passkey's new record if its counter
    /// is still the one read, and checks that its person's factors list it and that its
    /// person exists and is not disabled ([`PasskeyUse`]).
    fn passkey_use(&self, u: &PasskeyUse<'_>) -> StoreResult<Vec<TransactWriteItem>> {
        let p = u.passkey;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(&schema::passkey(&p.id), p, None)?))
            .condition_expression("#count = :previous AND #sub = :sub")
            .set_expression_attribute_names(Some(names(&[
                ("#count", "sign_count"),
                ("#sub", "sub"),
            ])))
            .set_expression_attribute_values(Some(values(vec![
                (":previous", n(i64::from(u.previous_count))),
                (":sub", s(&p.sub)),
            ])))
            .build()
            .map_err(unbuildable)?;
        let listed = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::factors(&p.sub))))
            .condition_expression("contains(#ids, :id)")
            .set_expression_attribute_names(Some(names(&[("#ids", "passkeys")])))
            .set_expression_attribute_values(Some(values(vec![(":id", s(&p.id))])))
            .build()
            .map_err(unbuildable)?;
        let enabled = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(schema::user(&p.sub))))
            .condition_expression(
                "attribute_exists(#pk) AND (attribute_not_exists(#off) OR #off = :no)",
            )
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#off", "disabled")])))
            .set_expression_attribute_values(Some(values(vec![(
                ":no",
                AttributeValue::Bool(false),
            )])))
            .build()
            .map_err(unbuildable)?;
        Ok(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().condition_check(listed).build(),
            TransactWriteItem::builder()
                .condition_check(enabled)
                .build(),
        ])
    }

    /// A counter's part in a sign-in's transaction: its [`Guard`] as the condition.
    fn counter_write(
        &self,
        op: &CounterWrite,
        now: i64,
        now_ms: i64,
    ) -> StoreResult<TransactWriteItem> {
        let guard = op.guard();
        let pk = schema::throttle(&guard.key);
        let read_ended = guard
            .read
            .is_some_and(|r| schema::expired(r.expires_at, now));
        let condition = GuardCondition::new(guard, now);
        Ok(match op {
            CounterWrite::Fail(_, window) if read_ended => TransactWriteItem::builder()
                .put(self.counter_restart(&pk, *window, now, now_ms)?)
                .build(),
            CounterWrite::Fail(_, window) => TransactWriteItem::builder()
                .update(self.counter_add(pk, condition, *window, now, now_ms)?)
                .build(),
            CounterWrite::Hold(_) => TransactWriteItem::builder()
                .condition_check(guarded!(ConditionCheck, &self.table, pk, condition))
                .build(),
            CounterWrite::Reset(_) => TransactWriteItem::builder()
                .delete(guarded!(Delete, &self.table, pk, condition))
                .build(),
        })
    }

    /// A failure on a counter read as ended: start again at 1, unless another attempt has
    /// done so meanwhile.
    fn counter_restart(&self, pk: &str, window: Window, now: i64, now_ms: i64) -> StoreResult<Put> {
        let fresh = Counter {
            count: 1,
            last: now_ms,
            expires_at: window_end(window, now),
        };
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(expiring(pk, &fresh)?))
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
            .set_expression_attribute_names(Some(names(&[("#pk", PK), ("#exp", "expires_at")])))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(unbuildable)
    }

    /// A failure on a live (or absent) counter: one more, if the guard still admits it.
    fn counter_add(
        &self,
        pk: String,
        condition: GuardCondition,
        window: Window,
        now: i64,
        now_ms: i64,
    ) -> StoreResult<Update> {
        let GuardCondition {
            names: mut attr_names,
            values: mut attr_values,
            admits,
        } = condition;
        let end_expr = match window {
            Window::Fixed(_) => "if_not_exists(#exp, :end)",
            Window::Sliding(_) => ":end",
        };
        attr_values.push((":end", n(window_end(window, now))));
        attr_values.push((":zero", n(0)));
        attr_values.push((":one", n(1)));
        attr_values.push((":nowms", n(now_ms)));
        if !attr_names.iter().any(|(k, _)| *k == "#last") {
            attr_names.push(("#last", "last"));
        }
        attr_names.push(("#ttl", TTL));
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .update_expression(format!(
                "SET #c = if_not_exists(#c, :zero) + :one, #last = :nowms, \
                 #exp = {end_expr}, #ttl = {end_expr}"
            ))
            .condition_expression(format!(
                "attribute_not_exists(#pk) OR (#exp > :now AND ({admits}))"
            ))
            .set_expression_attribute_names(Some(names(&attr_names)))
            .set_expression_attribute_values(Some(values(attr_values)))
            .build()
            .map_err(unbuildable)
    }
}

#[async_trait]
impl SignInStore for DynamoStore {
    async fn signin_read(&self, q: &SignInQuery<'_>) -> StoreResult<SignInState> {
        let request_pk = schema::auth_request(q.request_id);
        let username_pk = schema::username(q.username);
        let mut keys = vec![request_pk.clone(), username_pk.clone()];
        keys.extend(q.counters.iter().map(|k| schema::throttle(k)));
        if q.secret {
            keys.push(schema::SECRET.to_string());
        }
        let factors_pk = q.factors.map(schema::factors);
        keys.extend(factors_pk.clone());
        keys.sort();
        keys.dedup();
        let mut found = self.batch_get(keys).await?;
        let request = found.remove(&request_pk).map(parse).transpose()?;
        let request = live(request, q.now);
        let user = match found
            .remove(&username_pk)
            .map(username_record)
            .transpose()?
        {
            Some(UsernameRecord::User(u)) => Some(*u),
            // The older format: one more read.
            Some(UsernameRecord::Sub(sub)) => self.user(&sub).await?,
            None => None,
        };
        let mut counters = HashMap::new();
        for k in &q.counters {
            if let Some(item) = found.remove(&schema::throttle(k)) {
                counters.insert(k.clone(), parse::<Counter>(item)?);
            }
        }
        let secret = found.remove(schema::SECRET).map(parse).transpose()?;
        let factors = factors_pk
            .and_then(|pk| found.remove(&pk))
            .map(parse)
            .transpose()?;
        Ok(SignInState {
            request,
            user,
            counters,
            secret,
            factors,
        })
    }

    async fn signin_write(&self, w: &SignInWrite<'_>) -> StoreResult<bool> {
        let mut items = w
            .counters
            .iter()
            .map(|op| self.counter_write(op, w.now, w.now_ms))
            .collect::<StoreResult<Vec<_>>>()?;
        if let Some(session) = w.session {
            let record = expiring(&schema::session(&session.id_hash), session)?;
            items.push(put(&self.table, record)?);
        }
        if let Some(req) = w.request {
            let record = expiring(&schema::auth_request(&req.id), req)?;
            items.push(match &w.passkey {
                // Only while it still holds the challenge the assertion answered.
                Some(u) => {
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(record))
                        .condition_expression("#ch = :ch")
                        .set_expression_attribute_names(Some(names(&[(
                            "#ch",
                            "passkey_challenge",
                        )])))
                        .set_expression_attribute_values(Some(values(vec![(
                            ":ch",
                            s(u.challenge),
                        )])))
                        .build()
                        .map_err(unbuildable)?;
                    TransactWriteItem::builder().put(put).build()
                }
                None => put(&self.table, record)?,
            });
        }
        if let Some(u) = &w.passkey {
            items.extend(self.passkey_use(u)?);
        }
        if let Some(f) = w.factors {
            items.push(self.factors_put(f)?);
        }
        if items.is_empty() {
            return Ok(true);
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            // A guard no longer held, a passkey's condition (`PasskeyUse`), or the factors
            // changed since they were read.
            Err(TxFailure::Condition(_)) => Ok(false),
            Err(TxFailure::Store(e)) => Err(e),
        }
    }

    async fn create_secret(&self, secret: &DeploymentSecret) -> StoreResult<DeploymentSecret> {
        match self
            .put_once(item(schema::SECRET, secret, None)?, "secret")
            .await
        {
            Ok(()) => Ok(secret.clone()),
            // Another container made it first: that one is the deployment's.
            Err(StoreError::Conflict(_)) => self
                .get_record(schema::SECRET.to_string(), true)
                .await?
                .ok_or_else(|| StoreError::Unavailable("dynamodb: secret vanished".into())),
            Err(e) => Err(e),
        }
    }
}
