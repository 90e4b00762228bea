use super::schema::surveys;
use super::{is_unique_violation, DbConn, StoreError, StoreResult};
use crate::ids::SurveyId;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::digest::{DigestSettings, PeriodKind};
use npsd_domain::survey::SurveySettings;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = surveys)]
// None is bound as NULL rather than left out as DEFAULT: the INSERT's text then never varies,
// so SQLite prepares it (and compiles its triggers) once, not on every insert.
#[diesel(treat_none_as_default_value = false)]
#[diesel(treat_none_as_null = true)]
pub struct SurveyRow {
    pub id: SurveyId,
    pub slug: String,
    pub brand: String,
    pub question: Option<String>,
    pub sender: Option<String>,
    pub reply_to: Option<String>,
    pub locale: String,
    pub send_delay_seconds: i64,
    pub throttle_days: i32,
    pub response_window_days: i32,
    pub accent_color: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// One origin per line.
    pub allowed_origins: String,
    pub embed_enabled: bool,
    /// Never shown by the API after it was created; changed only by `set_embed_secret`.
    #[diesel(skip_update)]
    pub embed_secret: Option<String>,
    pub intro: Option<String>,
    pub digest_enabled: bool,
    /// One address per line.
    pub digest_recipients: String,
    pub digest_weekday: String,
    pub digest_hour: i32,
    pub digest_time_zone: String,
    pub digest_period: String,
    /// When the digest was last enabled or its slot moved.
    pub digest_changed_at: Option<NaiveDateTime>,
}

impl SurveyRow {
    pub fn settings(&self) -> SurveySettings {
        SurveySettings {
            slug: self.slug.clone(),
            brand: self.brand.clone(),
            question: self.question.clone(),
            sender: self.sender.clone(),
            reply_to: self.reply_to.clone(),
            locale: self.locale.clone(),
            send_delay_seconds: self.send_delay_seconds,
            throttle_days: self.throttle_days,
            response_window_days: self.response_window_days,
            accent_color: self.accent_color.clone(),
            intro: self.intro.clone(),
            allowed_origins: self.origins(),
            embed_enabled: self.embed_enabled,
            digest: self.digest_settings(),
        }
    }

    pub fn digest_settings(&self) -> DigestSettings {
        let period = match self.digest_period.as_str() {
            "daily" => PeriodKind::Daily,
            "monthly" => PeriodKind::Monthly,
            _ => PeriodKind::Weekly,
        };
        DigestSettings {
            enabled: self.digest_enabled,
            recipients: self
                .digest_recipients
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            weekday: npsd_domain::digest::weekday_named(&self.digest_weekday),
            hour: u8::try_from(self.digest_hour).unwrap_or(9),
            time_zone: npsd_domain::digest::Zone::canonical(&self.digest_time_zone)
                .unwrap_or_else(npsd_domain::digest::Zone::utc),
            period,
        }
    }

    pub fn origins(&self) -> Vec<String> {
        npsd_domain::embed::origins_from_stored(&self.allowed_origins)
    }

    fn apply(&mut self, s: SurveySettings, now: NaiveDateTime) {
        self.slug = s.slug;
        self.brand = s.brand;
        self.question = s.question;
        self.sender = s.sender;
        self.reply_to = s.reply_to;
        self.locale = s.locale;
        self.send_delay_seconds = s.send_delay_seconds;
        self.throttle_days = s.throttle_days;
        self.response_window_days = s.response_window_days;
        self.accent_color = s.accent_color;
        self.intro = s.intro;
        self.allowed_origins = npsd_domain::embed::origins_to_stored(&s.allowed_origins);
        self.embed_enabled = s.embed_enabled;
        let before = self.digest_settings();
        let d = s.digest;
        // Enabling the digest or moving its slot starts its calendar again from now.
        let moved = d.enabled
            && (!before.enabled
                || before.weekday != d.weekday
                || before.hour != d.hour
                || before.time_zone != d.time_zone
                || before.period != d.period
                || self.digest_changed_at.is_none());
        if moved {
            self.digest_changed_at = Some(now);
        }
        self.digest_enabled = d.enabled;
        self.digest_recipients = d.recipients.join("\n");
        self.digest_weekday = d.weekday_name().to_string();
        self.digest_hour = i32::from(d.hour);
        self.digest_time_zone = d.time_zone.name().to_string();
        self.digest_period = d.period.as_str().to_string();
        self.updated_at = now;
    }
}

/// Creating a survey whose slug is taken.
#[derive(Debug, thiserror::Error)]
pub enum CreateSurveyError {
    #[error("a survey with this slug exists")]
    SlugTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> StoreResult<Option<SurveyRow>> {
    Ok(surveys::table
        .filter(surveys::slug.eq(slug))
        .select(SurveyRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConn, id: &SurveyId) -> StoreResult<SurveyRow> {
    Ok(surveys::table
        .find(id)
        .select(SurveyRow::as_select())
        .get_result(conn)?)
}

/// The survey with this id, if there is one.
pub fn find_by_id_opt(conn: &mut DbConn, id: &SurveyId) -> StoreResult<Option<SurveyRow>> {
    Ok(surveys::table
        .find(id)
        .select(SurveyRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// A survey's slug by id.
pub fn slug_of(conn: &mut DbConn, id: &SurveyId) -> StoreResult<String> {
    Ok(surveys::table
        .find(id)
        .select(surveys::slug)
        .get_result(conn)?)
}

pub fn list(conn: &mut DbConn) -> StoreResult<Vec<SurveyRow>> {
    Ok(surveys::table
        .order(surveys::created_at.asc())
        .select(SurveyRow::as_select())
        .load(conn)?)
}

pub fn create(
    conn: &mut DbConn,
    settings: SurveySettings,
    now: NaiveDateTime,
) -> Result<SurveyRow, CreateSurveyError> {
    let mut row = SurveyRow {
        id: SurveyId::generate(),
        slug: String::new(),
        brand: String::new(),
        question: None,
        sender: None,
        reply_to: None,
        locale: String::new(),
        send_delay_seconds: 0,
        throttle_days: 0,
        response_window_days: 0,
        accent_color: String::new(),
        created_at: now,
        updated_at: now,
        allowed_origins: String::new(),
        embed_enabled: true,
        embed_secret: None,
        intro: None,
        digest_enabled: false,
        digest_recipients: String::new(),
        digest_weekday: "mon".into(),
        digest_hour: 9,
        digest_time_zone: "UTC".into(),
        digest_period: "weekly".into(),
        digest_changed_at: None,
    };
    row.apply(settings, now);
    // A savepoint, so that a taken slug does not abort an enclosing PostgreSQL transaction.
    let inserted =
        conn.transaction(|c| diesel::insert_into(surveys::table).values(&row).execute(c));
    match inserted {
        Ok(_) => Ok(row),
        Err(e) if is_unique_violation(&e) => Err(CreateSurveyError::SlugTaken),
        Err(e) => Err(StoreError::from(e).into()),
    }
}

pub fn update(
    conn: &mut DbConn,
    mut row: SurveyRow,
    settings: SurveySettings,
    now: NaiveDateTime,
) -> StoreResult<SurveyRow> {
    row.apply(settings, now);
    diesel::update(surveys::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(row)
}

/// Makes sure the survey named `default` exists (first start).
pub fn ensure_default(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<()> {
    let slug = npsd_domain::survey::DEFAULT_SLUG;
    if find_by_slug(conn, slug)?.is_none() {
        match create(conn, SurveySettings::new_default(slug), now) {
            Ok(_) | Err(CreateSurveyError::SlugTaken) => {}
            Err(CreateSurveyError::Store(e)) => return Err(e),
        }
    }
    Ok(())
}

/// Stores a new embed secret for the survey (replacing any earlier one at once).
pub fn set_embed_secret(
    conn: &mut DbConn,
    survey_id: &SurveyId,
    secret: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(surveys::table.find(survey_id))
        .set((
            surveys::embed_secret.eq(secret),
            surveys::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
