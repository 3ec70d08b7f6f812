// Public entry of the report component: verifiable compliance reports (JSON, HTML, PDF) built
// from the regions' transparency logs alone, and their verification.
export { buildReport, type BuildOptions } from './build.ts';
export { verifyReport, type VerifyReportOptions, type ReportVerification } from './verify.ts';
export { parseReport, REPORT_FORMAT, type Report, type RegionReport } from './model.ts';
export { parsePeriod } from './period.ts';
export { renderHtml, reportJsonFromHtml } from './html.ts';
export { renderPdf, chromiumPath, CHROMIUM_ARGS } from './pdf.ts';
export { ReportError, type ReportErrorCode } from './errors.ts';
export type { Figure, Period, Section, Cited } from './figures.ts';
