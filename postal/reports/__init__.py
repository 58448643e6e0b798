"""Figures for supervisors (báo cáo, bảng theo dõi), in parts: report `periods`, the per-agency `queries`,
the agency report and the month's line (`figures`), their downloads (`exports`), the live `board` and its
`charts`."""
