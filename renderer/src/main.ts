import { createApp } from 'vue'
import { createRouter, createWebHashHistory } from 'vue-router'
import App from './App.vue'
import CheckpointsView from './views/CheckpointsView.vue'
import CompareView from './views/CompareView.vue'
import DatasetsView from './views/DatasetsView.vue'
import DatasetView from './views/DatasetView.vue'
import RunDetailView from './views/RunDetailView.vue'
import RolloutsView from './views/RolloutsView.vue'
import RunsView from './views/RunsView.vue'
import './styles.css'

const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/runs' },
    { path: '/datasets', component: DatasetsView, meta: { title: 'Datasets' } },
    {
      path: '/datasets/:id(\\d+)',
      component: DatasetView,
      props: (route) => ({ id: Number(route.params.id) }),
      meta: { title: 'Dataset' },
    },
    { path: '/runs', component: RunsView, meta: { title: 'Runs' } },
    // The New run form at its own URL: `?preset=ID` picks a preset, `?duplicate=RUN` starts from a run's config.
    { path: '/runs/new', component: RunsView, meta: { title: 'New run' } },
    {
      path: '/runs/:id(\\d+)',
      component: RunDetailView,
      props: (route) => ({ id: Number(route.params.id) }),
      meta: { title: 'Run' },
    },
    {
      path: '/runs/:id(\\d+)/rollouts',
      component: RolloutsView,
      props: (route) => ({
        id: Number(route.params.id),
        step: route.query.step === undefined ? undefined : Number(route.query.step),
      }),
      meta: { title: 'Rollouts' },
    },
    { path: '/compare', component: CompareView, meta: { title: 'Compare' } },
    { path: '/checkpoints', component: CheckpointsView, meta: { title: 'Checkpoints' } },
  ],
})

createApp(App).use(router).mount('#app')
