import { useEffect, useRef } from 'react';
import { CategoryScale, Chart, Filler, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import { fmtDate, fmtNum, fmtShortDate } from '../lib/format';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend, Filler);

/** The general average after each evaluation date (on /20), with the same data as a table for screen readers. */
export function AverageChart({ points }: { points: { date: string; average: number }[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: {
        labels: points.map((p) => fmtShortDate(p.date)),
        datasets: [
          {
            label: 'Moyenne générale',
            data: points.map((p) => p.average),
            borderColor: '#1d4ed8',
            backgroundColor: 'rgba(29, 78, 216, 0.12)',
            pointBackgroundColor: '#1d4ed8',
            pointRadius: 4,
            tension: 0.25,
            fill: true,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          y: { min: 0, max: 20, ticks: { stepSize: 5, color: '#374151' }, grid: { color: '#e5e7eb' } },
          x: { ticks: { color: '#374151' }, grid: { display: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (c) => `Moyenne : ${fmtNum(c.parsed.y)}/20` } },
        },
      },
    });
    return () => chart.destroy();
  }, [points]);
  const last = points[points.length - 1];
  return (
    <figure className="chart">
      <div className="chart-box">
        <canvas
          ref={canvas}
          role="img"
          aria-label={`Évolution de la moyenne générale : ${points.length} points${last ? `, ${fmtNum(last.average)}/20 au ${fmtDate(last.date)}` : ''}`}
          data-testid="average-chart"
        />
      </div>
      <figcaption className="visually-hidden">
        <table>
          <caption>Moyenne générale après chaque évaluation</caption>
          <thead><tr><th scope="col">Date</th><th scope="col">Moyenne</th></tr></thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.date}><td>{fmtDate(p.date)}</td><td>{fmtNum(p.average)}</td></tr>
            ))}
          </tbody>
        </table>
      </figcaption>
    </figure>
  );
}
