import { createApp } from 'vue'
import { createRouter, createWebHashHistory } from 'vue-router'
import App from './App.vue'
import CheckpointsView from './views/CheckpointsView.vue'
import CompareView from './views/CompareView.vue'
import DatasetsView from './views/DatasetsView.vue'
import RunsView from './views/RunsView.vue'
import './styles.css'

const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/runs' },
    { path: '/datasets', component: DatasetsView, meta: { title: 'Datasets' } },
    { path: '/runs', component: RunsView, meta: { title: 'Runs' } },
    { path: '/compare', component: CompareView, meta: { title: 'Compare' } },
    { path: '/checkpoints', component: CheckpointsView, meta: { title: 'Checkpoints' } },
  ],
})

createApp(App).use(router).mount('#app')
