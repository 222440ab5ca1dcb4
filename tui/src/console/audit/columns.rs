//! The action log's columns: titles, widths, which go first on a narrow
//! terminal.  REASON takes what is left, so it comes last.
/// One column of the action log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogColumn {
    Type,
    Status,
    Created,
    Code,
    Who,
    Target,
    Reason,
}

impl LogColumn {
    /// Every column in display order.
    pub const ALL: [LogColumn; 7] = [
        LogColumn::Type,
        LogColumn::Status,
        LogColumn::Created,
        LogColumn::Code,
        LogColumn::Who,
        LogColumn::Target,
        LogColumn::Reason,
    ];

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            LogColumn::Type => "TYPE",
            LogColumn::Status => "STATUS",
            LogColumn::Created => "CREATED",
            LogColumn::Code => "CODE",
            LogColumn::Who => "WHO",
            LogColumn::Target => "TARGET",
            LogColumn::Reason => "REASON",
        }
    }

    /// What the column chooser says about it.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            LogColumn::Type => "action, and whether a dry run",
            LogColumn::Status => "result",
            LogColumn::Created => "when (local time)",
            LogColumn::Code => "result code",
            LogColumn::Who => "who asked",
            LogColumn::Target => "target pid and command line",
            LogColumn::Reason => "the reason given",
        }
    }

    /// Width (REASON: its minimum).
    #[must_use]
    pub fn width(self) -> u16 {
        match self {
            LogColumn::Type => 17,
            LogColumn::Status => 14,
            LogColumn::Created => 19,
            LogColumn::Code | LogColumn::Reason => 16,
            LogColumn::Who => 10,
            LogColumn::Target => 24,
        }
    }

    /// Higher is kept longer on a narrow terminal.
    fn priority(self) -> u8 {
        match self {
            LogColumn::Type | LogColumn::Reason => 100,
            LogColumn::Status => 95,
            LogColumn::Created => 80,
            LogColumn::Who => 70,
            LogColumn::Target => 60,
            LogColumn::Code => 50,
        }
    }
}

/// The chosen columns that fit in `width`, with their widths; the last one
/// takes the rest of the line.
#[must_use]
pub fn fit(width: u16, chosen: &[bool; 7]) -> Vec<(LogColumn, u16)> {
    let mut cols: Vec<LogColumn> = LogColumn::ALL
        .into_iter()
        .zip(chosen)
        .filter(|(_, on)| **on)
        .map(|(c, _)| c)
        .collect();
    let used = |cols: &[LogColumn]| -> u16 { cols.iter().map(|c| c.width() + 1).sum() };
    while used(&cols) > width.saturating_add(1) && cols.len() > 1 {
        let Some(lowest) = cols.iter().map(|c| c.priority()).filter(|p| *p < 100).min() else {
            break;
        };
        cols.retain(|c| c.priority() != lowest);
    }
    let n = cols.len();
    let mut x = 0u16;
    cols.into_iter()
        .enumerate()
        .map(|(i, c)| {
            let w = if i + 1 == n {
                width.saturating_sub(x)
            } else {
                c.width()
            };
            x = x.saturating_add(w + 1);
            (c, w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_keep_type_status_and_reason() {
        let all = [true; 7];
        let names = |cols: Vec<(LogColumn, u16)>| -> Vec<&str> {
            cols.iter().map(|c| c.0.title()).collect()
        };
        assert_eq!(names(fit(160, &all)).len(), 7);
        assert_eq!(
            names(fit(80, &all)),
            ["TYPE", "STATUS", "CREATED", "WHO", "REASON"]
        );
        let wide = fit(160, &all);
        assert_eq!(wide.last(), Some(&(LogColumn::Reason, 160 - 106)));
        let mut some = all;
        some[6] = false;
        // Without REASON, the last chosen column takes the rest.
        assert_eq!(fit(160, &some).last().map(|c| c.0), Some(LogColumn::Target));
        // Nothing overflows once TYPE and REASON fit.
        for w in 34..200 {
            let cols = fit(w, &all);
            let total: u16 = cols.iter().map(|c| c.1 + 1).sum::<u16>();
            assert_eq!(total - 1, w, "{w}: {cols:?}");
        }
        assert!(!fit(0, &all).is_empty());
    }
}
